//! Redis servers of a test's own, on free loopback ports in a temporary directory, stopped by
//! their PIDs when the test ends (also when it fails half-way): a Redis Cluster of three
//! primaries with a replica each, and a primary with a replica watched by three Sentinels.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use deadpool_redis::redis;

/// A loopback port nothing listens on, whose cluster bus port (+10000) is free too.
pub fn free_port() -> u16 {
    for _ in 0..200 {
        let port = 20000 + rand::random::<u16>() % 25000;
        let free = |port: u16| TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free(port) && free(port + 10000) {
            return port;
        }
    }
    panic!("no free port pair");
}

/// One `redis-server` (or `redis-server --sentinel`) process.
pub struct Node {
    pub port: u16,
    child: Option<Child>,
    args: Vec<String>,
    dir: PathBuf,
}

impl Node {
    fn spawn(port: u16, dir: &Path, args: Vec<String>) -> Node {
        let mut node = Node {
            port,
            child: None,
            args,
            dir: dir.to_owned(),
        };
        node.start();
        node
    }

    /// Starts (again) with the same arguments.
    pub fn start(&mut self) {
        let child = Command::new("redis-server")
            .args(&self.args)
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (.ci/run installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while ping(self.port).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis on {} did not start",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no shutdown, no goodbye to the clients.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn connection(port: u16) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))?
        .get_connection_with_timeout(Duration::from_millis(500))
}

fn ping(port: u16) -> redis::RedisResult<String> {
    redis::cmd("PING").query(&mut connection(port)?)
}

/// Runs a command on the node at `port`.
pub fn query<T: redis::FromRedisValue>(port: u16, cmd: &redis::Cmd) -> redis::RedisResult<T> {
    let mut conn = connection(port)?;
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    cmd.query(&mut conn)
}

fn info_field(port: u16, section: &str, field: &str) -> Option<String> {
    let info: String = query(port, redis::cmd("INFO").arg(section)).ok()?;
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|value| value.trim().to_owned())
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Three primaries, each with one replica, made with `redis-cli --cluster create`.
pub struct Cluster {
    pub nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        for _ in 0..6 {
            let port = free_port();
            let args = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &format!("nodes-{port}.conf"),
                // A primary that answers no one for a second is failed over.
                "--cluster-node-timeout",
                "1000",
                "--appendonly",
                "no",
                "--save",
                "",
                "--repl-diskless-sync-delay",
                "0",
            ]
            .map(str::to_owned)
            .to_vec();
            nodes.push(Node::spawn(port, dir.path(), args));
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli is installed (.ci/run installs it)");
        assert!(created.success(), "redis-cli --cluster create failed");
        let cluster = Cluster { nodes, _dir: dir };
        cluster.wait_ok(Duration::from_secs(30));
        cluster
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Node::url).collect()
    }

    /// Until every running node says the cluster is `ok` and three primaries serve it.
    pub fn wait_ok(&self, limit: Duration) {
        wait_until("the cluster is ok", limit, || {
            self.nodes
                .iter()
                .filter(|node| node.is_running())
                .all(|node| {
                    info_field_cluster(node.port, "cluster_state").as_deref() == Some("ok")
                        && info_field_cluster(node.port, "cluster_size").as_deref() == Some("3")
                })
                && self.primaries().len() == 3
        });
    }

    /// The running nodes that are primaries now.
    pub fn primaries(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| {
                self.nodes[i].is_running()
                    && info_field(self.nodes[i].port, "replication", "role").as_deref()
                        == Some("master")
            })
            .collect()
    }

    /// Until every primary's replica is in sync, so a failover loses nothing written before.
    pub fn wait_replicated(&self, limit: Duration) {
        wait_until("the replicas are in sync", limit, || {
            self.primaries().len() == 3
                && self
                    .nodes
                    .iter()
                    .filter(|node| node.is_running())
                    .all(
                        |node| match info_field(node.port, "replication", "role").as_deref() {
                            Some("master") => info_field(node.port, "replication", "slave0")
                                .is_some_and(|replica| replica.contains("state=online")),
                            Some("slave") => {
                                info_field(node.port, "replication", "master_link_status")
                                    .as_deref()
                                    == Some("up")
                            }
                            _ => false,
                        },
                    )
        });
    }
}

fn info_field_cluster(port: u16, field: &str) -> Option<String> {
    let info: String = query(port, redis::cmd("CLUSTER").arg("INFO")).ok()?;
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|value| value.trim().to_owned())
}

/// A primary and its replica, watched by three Sentinels (quorum 2) under the name
/// `primary`.
pub struct Sentinels {
    pub redis: Vec<Node>,
    pub sentinels: Vec<Node>,
    _dir: tempfile::TempDir,
}

pub const SERVICE: &str = "primary";

impl Sentinels {
    pub fn start() -> Sentinels {
        let dir = tempfile::tempdir().unwrap();
        let plain = |port: u16, replica_of: Option<u16>| {
            let mut args = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--appendonly",
                "no",
                "--save",
                "",
                "--repl-diskless-sync-delay",
                "0",
            ]
            .map(str::to_owned)
            .to_vec();
            if let Some(primary) = replica_of {
                args.extend([
                    "--replicaof".to_owned(),
                    "127.0.0.1".to_owned(),
                    primary.to_string(),
                ]);
            }
            args
        };
        let primary_port = free_port();
        let replica_port = free_port();
        let redis = vec![
            Node::spawn(primary_port, dir.path(), plain(primary_port, None)),
            Node::spawn(
                replica_port,
                dir.path(),
                plain(replica_port, Some(primary_port)),
            ),
        ];
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            // Sentinel rewrites its configuration file: one each, in the test's directory.
            let conf = dir.path().join(format!("sentinel-{port}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\n\
                     sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2\n\
                     sentinel down-after-milliseconds {SERVICE} 1000\n\
                     sentinel failover-timeout {SERVICE} 10000\n\
                     sentinel parallel-syncs {SERVICE} 1\n"
                ),
            )
            .unwrap();
            let args = vec![conf.display().to_string(), "--sentinel".to_owned()];
            sentinels.push(Node::spawn(port, dir.path(), args));
        }
        let group = Sentinels {
            redis,
            sentinels,
            _dir: dir,
        };
        // Until every Sentinel knows the replica and the two other Sentinels: only then can
        // they agree on a failover.
        wait_until(
            "the sentinels know each other",
            Duration::from_secs(30),
            || {
                group.sentinels.iter().all(|sentinel| {
                    let replicas: Vec<redis::Value> = query(
                        sentinel.port,
                        redis::cmd("SENTINEL").arg("REPLICAS").arg(SERVICE),
                    )
                    .unwrap_or_default();
                    let others: Vec<redis::Value> = query(
                        sentinel.port,
                        redis::cmd("SENTINEL").arg("SENTINELS").arg(SERVICE),
                    )
                    .unwrap_or_default();
                    replicas.len() == 1 && others.len() == 2
                })
            },
        );
        group.wait_replicated(Duration::from_secs(30));
        group
    }

    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels.iter().map(Node::url).collect()
    }

    /// The port Sentinel names as the primary now.
    pub fn primary_port(&self) -> Option<u16> {
        let sentinel = self.sentinels.iter().find(|s| s.is_running())?;
        let (_, port): (String, String) = query(
            sentinel.port,
            redis::cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(SERVICE),
        )
        .ok()?;
        port.parse().ok()
    }

    /// The index in `redis` of the node Sentinel names as the primary.
    pub fn primary(&self) -> usize {
        let port = self.primary_port().expect("a primary");
        self.redis
            .iter()
            .position(|node| node.port == port)
            .expect("a node of ours")
    }

    pub fn wait_replicated(&self, limit: Duration) {
        wait_until("the replica is in sync", limit, || {
            self.primary_port().is_some_and(|port| {
                info_field(port, "replication", "slave0")
                    .is_some_and(|replica| replica.contains("state=online"))
            })
        });
    }
}

impl Node {
    /// A stand-in while the real node is away (being killed on another thread).
    pub fn placeholder(port: u16) -> Node {
        Node {
            port,
            child: None,
            args: Vec::new(),
            dir: std::env::temp_dir(),
        }
    }
}
