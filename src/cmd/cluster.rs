//! CLUSTER, READONLY, READWRITE and ASKING as a standalone Redis 7.0 has them: the commands exist (COMMAND
//! lists them with Redis's arities, flags and docs, and clients probe CLUSTER INFO to learn the mode), and
//! every one answers that cluster support is disabled, which is exactly what Redis answers when
//! `cluster-enabled` is `no`. ferrokv has no cluster mode.

use super::{
    err, Args, Cmd, CmdResult, Ctx, ADMIN, FAST, LOADING, NOSCRIPT, NO_ASYNC_LOADING, STALE,
};

/// Redis's reply to every cluster command on a server without cluster mode.
fn disabled(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    err("ERR This instance has cluster support disabled")
}

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("cluster", -2, 0, (0, 0, 0), super::server::container)
        .doc(
            "cluster",
            "3.0.0",
            "A container for cluster commands",
            "Depends on subcommand.",
        )
        .subs(CLUSTER_SUBS),
    Cmd::new("readonly", 1, LOADING | STALE | FAST, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Enables read queries for a connection to a cluster replica node",
        "O(1)",
    ),
    Cmd::new("readwrite", 1, LOADING | STALE | FAST, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Disables read queries for a connection to a cluster replica node",
        "O(1)",
    ),
    Cmd::new("asking", 1, FAST, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Sent by cluster clients after an -ASK redirect",
        "O(1)",
    ),
];

static CLUSTER_SUBS: &[Cmd] = &[
    Cmd::new("addslots", -3, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Assign new hash slots to receiving node",
        "O(N) where N is the total number of hash slot arguments",
    ),
    Cmd::new("addslotsrange", -4, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "7.0.0",
        "Assign new hash slots to receiving node",
        "O(N) where N is the total number of the slots between the start slot and end slot arguments.",
    ),
    Cmd::new("bumpepoch", 2, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Advance the cluster config epoch",
        "O(1)",
    ),
    Cmd::new("count-failure-reports", 3, ADMIN | STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Return the number of failure reports active for a given node",
        "O(N) where N is the number of failure reports",
    ),
    Cmd::new("countkeysinslot", 3, STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Return the number of local keys in the specified hash slot",
        "O(1)",
    ),
    Cmd::new("delslots", -3, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Set hash slots as unbound in receiving node",
        "O(N) where N is the total number of hash slot arguments",
    ),
    Cmd::new("delslotsrange", -4, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "7.0.0",
        "Set hash slots as unbound in receiving node",
        "O(N) where N is the total number of the slots between the start slot and end slot arguments.",
    ),
    Cmd::new("failover", -2, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Forces a replica to perform a manual failover of its master.",
        "O(1)",
    ),
    Cmd::new("flushslots", 2, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Delete a node's own slots information",
        "O(1)",
    ),
    Cmd::new("forget", 3, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Remove a node from the nodes table",
        "O(1)",
    ),
    Cmd::new("getkeysinslot", 4, STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Return local key names in the specified hash slot",
        "O(log(N)) where N is the number of requested keys",
    ),
    Cmd::new("help", 2, LOADING | STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "5.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
    ),
    Cmd::new("info", 2, STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Provides info about Redis Cluster node state",
        "O(1)",
    ),
    Cmd::new("keyslot", 3, STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Returns the hash slot of the specified key",
        "O(N) where N is the number of bytes in the key",
    ),
    Cmd::new("links", 2, STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "7.0.0",
        "Returns a list of all TCP links to and from peer nodes in cluster",
        "O(N) where N is the total number of Cluster nodes",
    ),
    Cmd::new("meet", -4, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Force a node cluster to handshake with another node",
        "O(1)",
    ),
    Cmd::new("myid", 2, STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Return the node id",
        "O(1)",
    ),
    Cmd::new("nodes", 2, STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Get Cluster config for the node",
        "O(N) where N is the total number of Cluster nodes",
    ),
    Cmd::new("replicas", 3, ADMIN | STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "5.0.0",
        "List replica nodes of the specified master node",
        "O(1)",
    ),
    Cmd::new("replicate", 3, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Reconfigure a node as a replica of the specified master node",
        "O(1)",
    ),
    Cmd::new("reset", -2, ADMIN | NOSCRIPT | STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Reset a Redis Cluster node",
        "O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect.",
    ),
    Cmd::new("saveconfig", 2, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Forces the node to save cluster state on disk",
        "O(1)",
    ),
    Cmd::new("set-config-epoch", 3, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Set the configuration epoch in a new node",
        "O(1)",
    ),
    Cmd::new("setslot", -4, ADMIN | STALE | NO_ASYNC_LOADING, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Bind a hash slot to a specific node",
        "O(1)",
    ),
    Cmd::new("shards", 2, STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "7.0.0",
        "Get array of cluster slots to node mappings",
        "O(N) where N is the total number of cluster nodes",
    ),
    Cmd::new("slaves", 3, ADMIN | STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "List replica nodes of the specified master node",
        "O(1)",
    ),
    Cmd::new("slots", 2, STALE, (0, 0, 0), disabled).doc(
        "cluster",
        "3.0.0",
        "Get array of Cluster slot to node mappings",
        "O(N) where N is the total number of Cluster nodes",
    ),
];
