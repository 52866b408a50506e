//! The simulated OpenStack: Keystone, Neutron, Octavia and Nova models served
//! on one loopback port with devstack-like path prefixes (`/identity/v3`,
//! `/network`, `/load-balancer`, `/compute/v2.1`; the catalog says which).
//!
//! Each service is a model over one shared [`World`] behind a mutex, whose
//! answers (statuses, error types, messages) follow the real services as
//! measured by `lab/tests/conformance.rs`. Time-driven changes (Octavia
//! PENDING_* → ACTIVE / gone, Nova REBOOT → ACTIVE) are applied lazily at the
//! start of every request from deadlines, so no background task is needed.

mod http;
pub mod keystone;
pub mod neutron;
mod neutron_ops;
pub mod nova;
pub mod octavia;
mod policy;
mod quota;
mod router_gateway;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::faults::{self, Faults};
use crate::scenario::Scenario;

/// How the simulated cloud behaves.
#[derive(Clone, Debug)]
pub struct CloudConfig {
    /// Keystone user name.
    pub username: String,
    /// Its password.
    pub password: String,
    /// Project name (domain `Default`).
    pub project_name: String,
    /// Project ID (fixed so seeded objects can carry it).
    pub project_id: String,
    /// A second user `(name, password)` in the same project with only the
    /// `reader` role: its writes are refused with 403 (`policy.rs`).
    pub reader: Option<(String, String)>,
    /// An application credential `(id, secret)` that also authenticates.
    pub application_credential: Option<(String, String)>,
    /// Region of every endpoint.
    pub region: String,
    /// Token lifetime.
    pub token_ttl: Duration,
    /// Octavia: PENDING_CREATE / PENDING_UPDATE → ACTIVE after this.
    pub lb_create_delay: Duration,
    /// Octavia: PENDING_DELETE → gone after this.
    pub lb_delete_delay: Duration,
    /// Octavia: the highest API version advertised (tags need ≥ 2.5).
    pub octavia_max_version: (u32, u32),
    /// Nova: REBOOT → ACTIVE after this; BUILD → ACTIVE likewise.
    pub reboot_delay: Duration,
}

impl Default for CloudConfig {
    fn default() -> Self {
        CloudConfig {
            username: "admin".into(),
            password: "secret".into(),
            project_name: "admin".into(),
            project_id: "9f1c4e2a7b3d4c5e8f60718293a4b5c6".into(),
            reader: Some(("reader".into(), "reader-secret".into())),
            application_credential: Some(("lab-app-cred".into(), "lab-app-secret".into())),
            region: "RegionOne".into(),
            token_ttl: Duration::from_secs(3600),
            lb_create_delay: Duration::from_millis(50),
            lb_delete_delay: Duration::from_millis(50),
            octavia_max_version: (2, 26),
            reboot_delay: Duration::from_millis(50),
        }
    }
}

/// What a clouds.yaml needs to reach the simulated cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub auth_url: String,
    pub username: String,
    pub password: String,
    pub project_name: String,
    pub user_domain_name: String,
    pub project_domain_name: String,
    pub region_name: String,
}

/// The whole simulated cloud's state.
pub struct World {
    pub(crate) cfg: CloudConfig,
    pub(crate) base_url: String,
    pub(crate) keystone: keystone::Keystone,
    pub(crate) neutron: neutron::Neutron,
    pub(crate) octavia: octavia::Octavia,
    pub(crate) nova: nova::Nova,
    pub(crate) reboots: broadcast::Sender<String>,
}

impl World {
    /// Applies every deadline that has passed.
    pub(crate) fn tick(&mut self) {
        let now = std::time::Instant::now();
        octavia::tick(self, now);
        nova::tick(self, now);
    }
}

pub(crate) type Shared = Arc<Mutex<World>>;

/// Routes a request to its service by path prefix, after applying deadlines.
async fn dispatch(
    State(world): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let Some((service, rest)) = ["/identity", "/network", "/load-balancer", "/compute"]
        .into_iter()
        .find_map(|p| {
            path.strip_prefix(p)
                .filter(|r| r.is_empty() || r.starts_with('/'))
                .map(|r| (p, r))
        })
    else {
        return http::json_status(
            StatusCode::NOT_FOUND,
            serde_json::json!({"message": "no such service"}),
        );
    };
    let req = match http::Req::parse(method, rest, uri.query(), &headers, &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let mut w = world.lock().expect("world lock");
    w.tick();
    if service == "/identity" {
        return keystone::handle(&mut w, &req);
    }
    if !w.keystone.valid(req.token.as_deref()) {
        return http::unauthorized();
    }
    if let Some(refused) =
        policy::refuse(w.keystone.reader_only(req.token.as_deref()), service, &req)
    {
        return refused;
    }
    match service {
        "/network" => neutron::handle(&mut w, &req),
        "/load-balancer" => octavia::handle(&mut w, &req),
        _ => nova::handle(&mut w, &req),
    }
}

/// A running simulated cloud.
pub struct Cloud {
    addr: SocketAddr,
    world: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Cloud {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Returns a fresh random UUID string (runtime-created objects).
pub(crate) fn new_id() -> String {
    let b: [u8; 16] = rand::random();
    format_uuid(b)
}

/// Returns a UUID string of 16 bytes (version 4 bits set).
pub fn format_uuid(mut b: [u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[(x >> 4) as usize] as char);
        out.push(HEX[(x & 15) as usize] as char);
    }
    out
}

/// Returns the current time as Neutron prints it.
pub(crate) fn now_stamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Cloud {
    /// Starts the cloud on a random loopback port; call inside a tokio runtime.
    pub fn start(
        cfg: &CloudConfig,
        faults: Faults,
        reboots: broadcast::Sender<String>,
    ) -> std::io::Result<Cloud> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        let base_url = format!("http://{addr}");
        let world = Arc::new(Mutex::new(World {
            cfg: cfg.clone(),
            base_url: base_url.clone(),
            keystone: keystone::Keystone::default(),
            neutron: neutron::Neutron::default(),
            octavia: octavia::Octavia::default(),
            nova: nova::Nova::default(),
            reboots,
        }));
        let router = Router::new().fallback(dispatch).with_state(world.clone());
        let router = faults::wrap(router, &faults);
        let task = tokio::spawn(async move {
            if let Err(e) = faults::serve(listener, router).await {
                tracing::error!("simulated OpenStack stopped: {e}");
            }
        });
        Ok(Cloud { addr, world, task })
    }

    /// Returns the address the cloud listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns Keystone's URL (`http://127.0.0.1:PORT/identity/v3`).
    pub fn auth_url(&self) -> String {
        format!("http://{}/identity/v3", self.addr)
    }

    /// Returns the password credentials for a clouds.yaml.
    pub fn credentials(&self) -> Credentials {
        let w = self.world.lock().expect("world lock");
        Credentials {
            auth_url: self.auth_url(),
            username: w.cfg.username.clone(),
            password: w.cfg.password.clone(),
            project_name: w.cfg.project_name.clone(),
            user_domain_name: "Default".into(),
            project_domain_name: "Default".into(),
            region_name: w.cfg.region.clone(),
        }
    }

    /// Returns a clouds.yaml text with the cloud `name` and, when the cloud has
    /// a reader user, `<name>-reader` (same project, only the reader role).
    pub fn clouds_yaml(&self, name: &str) -> String {
        let c = self.credentials();
        let reader = self.world.lock().expect("world lock").cfg.reader.clone();
        let entry = |cloud: &str, user: &str, password: &str| {
            format!(
                "  {cloud}:\n    auth:\n      auth_url: {}\n      username: {user}\n      password: {password}\n      project_name: {}\n      user_domain_name: {}\n      project_domain_name: {}\n    region_name: {}\n    interface: public\n    identity_api_version: 3\n",
                c.auth_url,
                c.project_name,
                c.user_domain_name,
                c.project_domain_name,
                c.region_name
            )
        };
        let mut out = format!("clouds:\n{}", entry(name, &c.username, &c.password));
        if let Some((user, password)) = reader {
            out.push_str(&entry(&format!("{name}-reader"), &user, &password));
        }
        out
    }

    /// Returns the project ID every seeded and created object belongs to.
    pub fn project_id(&self) -> String {
        self.world
            .lock()
            .expect("world lock")
            .cfg
            .project_id
            .clone()
    }

    /// Loads a scenario's OpenStack objects (IDs kept as given).
    pub fn seed(&self, scenario: &Scenario) {
        let mut w = self.world.lock().expect("world lock");
        let w = &mut *w;
        let project = w.cfg.project_id.clone();
        for (coll, items) in &scenario.openstack {
            for item in items {
                let mut item = item.clone();
                if item.get("project_id").is_none() {
                    item["project_id"] = Value::String(project.clone());
                }
                match coll.as_str() {
                    "loadbalancers" | "listeners" | "pools" | "members" => {
                        octavia::seed(&mut w.octavia, coll, item)
                    }
                    "servers" => nova::seed(&mut w.nova, item),
                    "os-services" => nova::seed_service(&mut w.nova, item),
                    _ => w.neutron.seed(coll, item),
                }
            }
        }
        quota::fit_to_seeded(&mut w.neutron, &project);
    }

    /// Returns every object of a Neutron collection (`networks`, `ports`, …), sorted by ID.
    pub fn neutron_objects(&self, collection: &str) -> Vec<Value> {
        let mut w = self.world.lock().expect("world lock");
        w.tick();
        w.neutron.all(collection)
    }

    /// Returns one Neutron object.
    pub fn neutron_object(&self, collection: &str, id: &str) -> Option<Value> {
        let mut w = self.world.lock().expect("world lock");
        w.tick();
        w.neutron.get(collection, id)
    }

    /// Returns every Octavia load balancer (after applying passed deadlines).
    pub fn load_balancers(&self) -> Vec<Value> {
        let mut w = self.world.lock().expect("world lock");
        w.tick();
        w.octavia.lbs.values().cloned().collect()
    }

    /// Returns every Nova server.
    pub fn servers(&self) -> Vec<Value> {
        let mut w = self.world.lock().expect("world lock");
        w.tick();
        w.nova.servers.values().cloned().collect()
    }

    /// Invalidates every issued token (the next call of a client gets 401).
    pub fn revoke_tokens(&self) {
        self.world
            .lock()
            .expect("world lock")
            .keystone
            .tokens
            .clear();
    }

    /// Changes the Octavia API version advertised from now on.
    pub fn set_octavia_max_version(&self, v: (u32, u32)) {
        self.world
            .lock()
            .expect("world lock")
            .cfg
            .octavia_max_version = v;
    }
}
