//! The NTS-KE client's worker thread: one thread and one runtime, made at
//! start-up (before `-F` installs the system call filter, which forbids
//! making threads), that runs the associations' NTS-KE sessions one after
//! another. An association hands in a job and finds the outcome in the
//! job's slot at a later poll.

use std::net::SocketAddr;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

use openssl::ssl::SslConnector;

use super::nts_ke_client::{self, KeClientError, KeOutcome};

/// Where a job's outcome lands.
pub type KeSlot = Arc<Mutex<Option<Result<KeOutcome, KeClientError>>>>;

struct KeJob {
    addr: SocketAddr,
    name: String,
    slot: KeSlot,
}

/// A handle on the worker; cloned into every NTS association.
#[derive(Clone)]
pub struct KeWorker {
    jobs: Sender<KeJob>,
}

impl std::fmt::Debug for KeWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeWorker")
    }
}

impl KeWorker {
    /// Starts the worker thread, which uses `connector` for every session.
    pub fn start(connector: SslConnector) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (jobs, queue) = mpsc::channel::<KeJob>();
        let (ready, started) = mpsc::channel();
        std::thread::Builder::new()
            .name("nts-ke-client".into())
            .spawn(move || {
                // Its start-up calls are over: `-F` may be installed now.
                let _ = ready.send(());
                for job in queue {
                    let r = runtime
                        .block_on(nts_ke_client::key_exchange(&connector, job.addr, &job.name));
                    *job.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            })?;
        started
            .recv_timeout(std::time::Duration::from_secs(10))
            .map_err(|_| std::io::Error::other("the NTS-KE worker thread did not start"))?;
        Ok(Self { jobs })
    }

    /// Queues NTS-KE with `addr` for a certificate valid for `name`.
    pub fn submit(&self, addr: SocketAddr, name: &str) -> KeSlot {
        let slot = KeSlot::default();
        let job = KeJob {
            addr,
            name: name.to_owned(),
            slot: Arc::clone(&slot),
        };
        if self.jobs.send(job).is_err() {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Err(KeClientError::Connect {
                addr,
                reason: "the NTS-KE worker thread has stopped".into(),
            }));
        }
        slot
    }
}
