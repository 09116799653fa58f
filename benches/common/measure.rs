//! The measurement window, exact percentiles, and the runners for raw SQL threads and HTTP
//! clients.

use super::*;

/// One measurement window: warm-up from `start`, then `[measure_from, until]` is measured.
#[derive(Clone, Copy)]
pub struct Window {
    pub measure_from: Instant,
    pub until: Instant,
}

impl Window {
    pub fn new(warmup: f64, seconds: f64) -> Window {
        let measure_from = Instant::now() + Duration::from_secs_f64(warmup);
        Window {
            measure_from,
            until: measure_from + Duration::from_secs_f64(seconds),
        }
    }

    pub fn seconds(&self) -> f64 {
        (self.until - self.measure_from).as_secs_f64()
    }
}

/// What one worker saw.
#[derive(Default)]
pub struct Tally {
    /// How many calls completed inside the measured window (the throughput).
    pub in_window: usize,
    /// Durations (ns) of every call that completed after the window opened, including the
    /// last ones that finished after it closed: a call starved for the whole window still
    /// shows in the tail.
    pub latencies: Vec<u64>,
    /// Fewest and most calls one worker completed inside the window (how fair the queue is).
    pub per_worker: (usize, usize),
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Tally {
    pub fn done(&mut self, window: &Window, started: Instant, finished: Instant) {
        if finished >= window.measure_from {
            self.latencies.push((finished - started).as_nanos() as u64);
            if finished <= window.until {
                self.in_window += 1;
            }
        }
    }

    pub fn failed(&mut self, error: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(error);
        }
    }

    pub fn merge(tallies: Vec<Tally>) -> Tally {
        let mut all = Tally {
            per_worker: (usize::MAX, 0),
            ..Tally::default()
        };
        for tally in tallies {
            let done = tally.in_window;
            all.per_worker = (all.per_worker.0.min(done), all.per_worker.1.max(done));
            all.in_window += done;
            all.latencies.extend(tally.latencies);
            all.errors += tally.errors;
            if all.first_error.is_none() {
                all.first_error = tally.first_error;
            }
        }
        all.latencies.sort_unstable();
        all
    }

    /// Says how many calls failed, and the first failure.
    pub fn report_errors(&self, what: &str) {
        if let Some(first) = &self.first_error {
            eprintln!("  {what}: {} failed calls; first: {first}", self.errors);
        }
    }
}

/// Throughput and exact latency percentiles of one measurement.
#[derive(Clone, Copy, Default)]
pub struct Figures {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub completed: u64,
    pub errors: u64,
    pub per_worker: (usize, usize),
}

impl Figures {
    pub fn of(tally: &Tally, window: &Window) -> Figures {
        Figures {
            per_second: tally.in_window as f64 / window.seconds(),
            p50_ms: percentile(&tally.latencies, 50) as f64 / 1e6,
            p99_ms: percentile(&tally.latencies, 99) as f64 / 1e6,
            completed: tally.in_window as u64,
            errors: tally.errors,
            per_worker: tally.per_worker,
        }
    }

    pub fn line(&self) -> String {
        format!(
            "{:>6.0}/s  p50 {:>7.2} ms  p99 {:>8.2} ms  ({} done, {} errors, \
             per worker {}..{})",
            self.per_second,
            self.p50_ms,
            self.p99_ms,
            self.completed,
            self.errors,
            self.per_worker.0,
            self.per_worker.1
        )
    }

    /// `api / raw`, or 0 when the raw side did not run.
    pub fn ratio_to(&self, raw: &Figures) -> f64 {
        if raw.per_second > 0.0 {
            self.per_second / raw.per_second
        } else {
            0.0
        }
    }
}

/// One concurrency of one backend: the raw ceiling and the API side by side.
#[derive(Clone, Copy)]
pub struct Row {
    pub backend: Backend,
    pub concurrency: usize,
    pub raw: Figures,
    pub api: Figures,
}

/// The Markdown table of `rows`, counting `what` (e.g. "awards") per second.
pub fn table(rows: &[Row], what: &str) -> String {
    let mut out = format!(
        "| backend | c | raw {what}/s | raw p50 ms | raw p99 ms | API {what}/s | API p50 ms | API p99 ms | API/raw |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} |\n",
            backend_name(row.backend),
            row.concurrency,
            row.raw.per_second,
            row.raw.p50_ms,
            row.raw.p99_ms,
            row.api.per_second,
            row.api.p50_ms,
            row.api.p99_ms,
            row.api.ratio_to(&row.raw),
        ));
    }
    out
}

/// Nearest-rank percentile of sorted values (integer arithmetic, no interpolation).
pub fn percentile(sorted: &[u64], pct: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// `concurrency` OS threads, each holding its own connection for the whole window, call `work`
/// in a tight loop. A call that fails is counted, not retried.
pub fn run_threads<F>(
    target: &DbTarget,
    concurrency: usize,
    window: Window,
    work: F,
) -> anyhow::Result<Tally>
where
    F: Fn(&mut Db) -> anyhow::Result<()> + Send + Sync + 'static,
{
    let pool = connection::build_pool(target, concurrency as u32, Duration::from_secs(30))?;
    let connections = (0..concurrency)
        .map(|_| pool.get())
        .collect::<Result<Vec<_>, _>>()
        .context("opening the raw connections")?;
    let work = Arc::new(work);
    let workers: Vec<JoinHandle<Tally>> = connections
        .into_iter()
        .map(|mut conn| {
            let work = work.clone();
            std::thread::spawn(move || {
                let mut tally = Tally::default();
                loop {
                    let started = Instant::now();
                    if started >= window.until {
                        break;
                    }
                    match work(&mut conn) {
                        Ok(()) => tally.done(&window, started, Instant::now()),
                        Err(err) => tally.failed(format!("{err:#}")),
                    }
                }
                tally
            })
        })
        .collect();
    let tallies = workers
        .into_iter()
        .map(|w| w.join().map_err(|_| anyhow!("a raw worker panicked")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Tally::merge(tallies))
}

/// `run_threads` over a fresh window of `warmup` then `seconds`, as figures; failures are
/// reported under `what`.
pub fn measure_threads<F>(
    what: &str,
    target: &DbTarget,
    concurrency: usize,
    (warmup, seconds): (f64, f64),
    work: F,
) -> anyhow::Result<Figures>
where
    F: Fn(&mut Db) -> anyhow::Result<()> + Send + Sync + 'static,
{
    let window = Window::new(warmup, seconds);
    let tally = run_threads(target, concurrency, window, work)?;
    tally.report_errors(what);
    Ok(Figures::of(&tally, &window))
}

/// `run_clients` over a fresh window of `warmup` then `seconds`, as figures; failures are
/// reported under `what`.
pub async fn measure_clients<F, Fut>(
    what: &str,
    concurrency: usize,
    (warmup, seconds): (f64, f64),
    work: F,
) -> anyhow::Result<Figures>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let window = Window::new(warmup, seconds);
    let tally = run_clients(concurrency, window, work).await?;
    tally.report_errors(what);
    Ok(Figures::of(&tally, &window))
}

/// `concurrency` tasks on the current tokio runtime call `work` in a loop until the window ends.
pub async fn run_clients<F, Fut>(
    concurrency: usize,
    window: Window,
    work: F,
) -> anyhow::Result<Tally>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let work = Arc::new(work);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let work = work.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let started = Instant::now();
                    if started >= window.until {
                        break;
                    }
                    match work().await {
                        Ok(()) => tally.done(&window, started, Instant::now()),
                        Err(err) => tally.failed(err),
                    }
                }
                tally
            })
        })
        .collect();
    let mut tallies = Vec::with_capacity(concurrency);
    for task in tasks {
        tallies.push(
            task.await
                .map_err(|e| anyhow!("an API client task failed: {e}"))?,
        );
    }
    Ok(Tally::merge(tallies))
}

/// A keep-alive HTTP client for `concurrency` callers.
pub fn http_client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .build()?)
}
