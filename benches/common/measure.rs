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

    /// A burst: a fixed amount of work, every call of it measured (see `Figures::of_burst`).
    pub fn burst() -> Window {
        let measure_from = Instant::now();
        Window {
            measure_from,
            until: measure_from + Duration::from_secs(24 * 3600),
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
    /// When the last call completed (the end of a burst).
    pub last_finished: Option<Instant>,
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
        self.last_finished = self.last_finished.max(Some(finished));
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
            all.last_finished = all.last_finished.max(tally.last_finished);
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
    /// Over a fixed window: the calls completed inside it per second of it.
    pub fn of(tally: &Tally, window: &Window) -> Figures {
        Figures::over(tally, window.seconds())
    }

    /// Over a burst: every call, per second from `started` to the last completion.
    pub fn of_burst(tally: &Tally, started: Instant) -> Figures {
        let seconds = tally
            .last_finished
            .map_or(0.0, |last| (last - started).as_secs_f64());
        Figures::over(tally, seconds)
    }

    fn over(tally: &Tally, seconds: f64) -> Figures {
        Figures {
            per_second: if seconds > 0.0 {
                tally.in_window as f64 / seconds
            } else {
                0.0
            },
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
    /// How many threads the raw side ran (fewer than `concurrency` when the database has too
    /// few connections to spare).
    pub raw_threads: usize,
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
        let c = if row.raw_threads == row.concurrency {
            row.concurrency.to_string()
        } else {
            format!("{} (raw {})", row.concurrency, row.raw_threads)
        };
        out.push_str(&format!(
            "| {} | {c} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} |\n",
            backend_name(row.backend),
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

/// `n` connections to the database with the service's settings, for the raw side: one per
/// thread, opened before the clock starts and held for the whole measurement.
pub fn raw_connections(target: &DbTarget, n: usize) -> anyhow::Result<Vec<connection::PooledDb>> {
    let pool = connection::build_pool(target, n as u32, Duration::from_secs(30))?;
    (0..n)
        .map(|_| pool.get())
        .collect::<Result<Vec<_>, _>>()
        .context("opening the raw connections")
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
    let connections = raw_connections(target, concurrency)?;
    let (tally, _) = run_on_threads(connections, window, move |conn| {
        Some(work(conn).map_err(|err| format!("{err:#}")))
    })?;
    Ok(tally)
}

/// One OS thread per state (its own connection, …), released together; each calls `step` until
/// it answers `None` (nothing left to do) or the window closes. Answers what they saw, merged,
/// and the moment they were released.
pub fn run_on_threads<S, F>(
    states: Vec<S>,
    window: Window,
    step: F,
) -> anyhow::Result<(Tally, Instant)>
where
    S: Send + 'static,
    F: Fn(&mut S) -> Option<Result<(), String>> + Send + Sync + 'static,
{
    let step = Arc::new(step);
    let start = Arc::new(Barrier::new(states.len() + 1));
    let workers: Vec<JoinHandle<Tally>> = states
        .into_iter()
        .map(|mut state| {
            let (step, start) = (step.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let mut tally = Tally::default();
                loop {
                    let started = Instant::now();
                    if started >= window.until {
                        break;
                    }
                    match step(&mut state) {
                        None => break,
                        Some(Ok(())) => tally.done(&window, started, Instant::now()),
                        Some(Err(err)) => tally.failed(err),
                    }
                }
                tally
            })
        })
        .collect();
    // Every thread is waiting at the barrier: they all start now.
    let released = Instant::now();
    start.wait();
    let tallies = workers
        .into_iter()
        .map(|w| w.join().map_err(|_| anyhow!("a raw worker panicked")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((Tally::merge(tallies), released))
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
    let states = (0..concurrency).map(|_| ()).collect();
    let (tally, _) = run_on_tasks(states, window, move |_| Some(work())).await?;
    Ok(tally)
}

/// One tokio task per state (its own HTTP client, …); each awaits the call `step` answers until
/// it answers `None` (nothing left to do) or the window closes. Answers what they saw, merged,
/// and the moment they started.
pub async fn run_on_tasks<S, F, Fut>(
    states: Vec<S>,
    window: Window,
    step: F,
) -> anyhow::Result<(Tally, Instant)>
where
    S: Send + 'static,
    F: Fn(&S) -> Option<Fut> + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let step = Arc::new(step);
    let released = Instant::now();
    let tasks: Vec<_> = states
        .into_iter()
        .map(|state| {
            let step = step.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let started = Instant::now();
                    if started >= window.until {
                        break;
                    }
                    let Some(call) = step(&state) else { break };
                    match call.await {
                        Ok(()) => tally.done(&window, started, Instant::now()),
                        Err(err) => tally.failed(err),
                    }
                }
                tally
            })
        })
        .collect();
    let mut tallies = Vec::with_capacity(tasks.len());
    for task in tasks {
        tallies.push(
            task.await
                .map_err(|e| anyhow!("an API client task failed: {e}"))?,
        );
    }
    Ok((Tally::merge(tallies), released))
}

/// A keep-alive HTTP client for `concurrency` callers.
pub fn http_client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .build()?)
}
