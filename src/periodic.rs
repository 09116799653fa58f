//! A background thread that runs one step every interval until it is dropped, and stops promptly
//! (it sleeps in small slices, checking its stop flag). The upkeep and the mail sender run on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a step asks for next.
pub enum Pace {
    /// Wait the interval.
    Wait,
    /// Run again at once (a full batch: more is due).
    Again,
}

pub struct Periodic {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Periodic {
    pub fn start(
        name: &str,
        interval: Duration,
        mut step: impl FnMut() -> Pace + Send + 'static,
    ) -> std::io::Result<Periodic> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    if let Pace::Again = step() {
                        continue;
                    }
                    let until = Instant::now() + interval;
                    while Instant::now() < until && !flag.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(50).min(interval));
                    }
                }
            })?;
        Ok(Periodic {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
