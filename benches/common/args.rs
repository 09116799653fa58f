//! Command-line options, the run's frame (runtime, a header per backend, the exit status).

use super::*;

/// Splits `--flag value`, `--flag=value` and bare `switches` into (flag, value) pairs. `cargo
/// bench` passes `--bench` to every bench binary; it is dropped. `-h`/`--help` answers `Err("")`.
pub fn flags(
    args: impl Iterator<Item = String>,
    switches: &[&str],
) -> Result<Vec<(String, Option<String>)>, String> {
    let mut pairs = Vec::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        match flag.as_str() {
            "--bench" => continue,
            "-h" | "--help" => return Err(String::new()),
            _ if switches.contains(&flag.as_str()) => pairs.push((flag, None)),
            _ => {
                let value = inline
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{flag} needs a value"))?;
                pairs.push((flag, Some(value)));
            }
        }
    }
    Ok(pairs)
}

/// Reads the arguments: each first through `extra(flag, value)`, which answers whether it knew
/// the flag (or refuses it), then the common options into `run` (`switches` come without a
/// value).
pub fn parse_flags(
    run: &mut RunOptions,
    args: impl Iterator<Item = String>,
    switches: &[&str],
    mut extra: impl FnMut(&str, Option<String>) -> Result<bool, String>,
) -> Result<(), String> {
    for (flag, value) in flags(args, switches)? {
        if !extra(&flag, value.clone())? && !run.take(&flag, &value)? {
            return Err(format!("unknown argument `{flag}`"));
        }
    }
    Ok(())
}

/// The options every benchmark takes.
pub struct RunOptions {
    pub backends: Vec<Backend>,
    pub seconds: f64,
    pub warmup: f64,
    pub concurrency: Vec<usize>,
    pub relaxed: bool,
    pub pool: Option<u32>,
    pub postgres_url: String,
    /// Measure one side only, `raw` or `api` (for profiling).
    pub only: Option<String>,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            backends: vec![Backend::Sqlite, Backend::Postgres],
            seconds: 3.0,
            warmup: 0.5,
            concurrency: vec![1, 16, 64],
            relaxed: false,
            pool: None,
            postgres_url: postgres_url(),
            only: None,
        }
    }
}

impl RunOptions {
    /// Takes a flag that every benchmark knows (`--relaxed` is a switch); answers whether it was
    /// one, so the benchmark can look at the rest.
    pub fn take(&mut self, flag: &str, value: &Option<String>) -> Result<bool, String> {
        if flag == "--relaxed" {
            self.relaxed = true;
            return Ok(true);
        }
        let known = [
            "--backend",
            "--seconds",
            "--warmup",
            "--concurrency",
            "--pool",
            "--only",
        ];
        if !known.contains(&flag) {
            return Ok(false);
        }
        let value = value_of(flag, value.clone())?;
        match flag {
            "--backend" => self.backends = backends(&value)?,
            "--seconds" => self.seconds = positive_seconds(flag, &value)?,
            "--warmup" => self.warmup = positive_seconds(flag, &value)?,
            "--concurrency" => self.concurrency = concurrency_list(flag, &value)?,
            "--only" if value == "raw" || value == "api" => self.only = Some(value),
            "--only" => return Err("--only takes raw or api".into()),
            _ => self.pool = Some(positive_integer(flag, &value)?),
        }
        Ok(true)
    }

    /// What the run measures and under which conditions, for the first line of its output.
    pub fn describe(&self) -> String {
        format!(
            "{} s per measurement after {} s warm-up, {}",
            self.seconds,
            self.warmup,
            self.conditions()
        )
    }

    /// The concurrencies, the durability, the CPUs and the load average (a burst benchmark has
    /// no measurement window to describe).
    pub fn conditions(&self) -> String {
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        format!(
            "concurrency {:?}, {} durability, {cpus} CPUs, load average {}",
            self.concurrency,
            if self.relaxed { "relaxed" } else { "full" },
            load_average()
        )
    }

    /// Whether this side (`raw` or `api`) is measured.
    pub fn wanted(&self, side: &str) -> bool {
        !matches!(self.only.as_deref(), Some(only) if only != side)
    }

    /// The measurement window: warm-up, then measured seconds.
    pub fn window(&self) -> (f64, f64) {
        (self.warmup, self.seconds)
    }
}

/// The value of a flag that takes one (`flags` guarantees it is there).
pub fn value_of(flag: &str, value: Option<String>) -> Result<String, String> {
    value.ok_or_else(|| format!("{flag} needs a value"))
}

pub fn positive_seconds(flag: &str, text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| format!("{flag} needs a positive number of seconds"))
}

pub fn positive_integer<T: std::str::FromStr + PartialOrd + Default>(
    flag: &str,
    text: &str,
) -> Result<T, String> {
    text.parse::<T>()
        .ok()
        .filter(|n| *n > T::default())
        .ok_or_else(|| format!("{flag} needs a positive integer"))
}

pub fn concurrency_list(flag: &str, text: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|c| c.trim().parse().ok().filter(|c: &usize| *c > 0))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| format!("{flag} needs a list like 1,16,64"))
}

pub fn backends(text: &str) -> Result<Vec<Backend>, String> {
    match text {
        "sqlite" => Ok(vec![Backend::Sqlite]),
        "postgres" => Ok(vec![Backend::Postgres]),
        "both" => Ok(vec![Backend::Sqlite, Backend::Postgres]),
        other => Err(format!("unknown backend `{other}`")),
    }
}

pub fn postgres_url() -> String {
    std::env::var("PB_BENCH_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

/// The parsed options and the load generator's runtime, or (after printing what is wrong and
/// the usage) the exit code 2.
pub fn start<T>(
    parsed: Result<T, String>,
    usage: &str,
) -> Result<(T, tokio::runtime::Runtime), ExitCode> {
    match parsed {
        Ok(options) => Ok((options, bench_runtime())),
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            eprintln!("{usage}");
            Err(ExitCode::from(2))
        }
    }
}

/// Runs `run` for each backend under a `== name ==` header. A backend that fails is reported
/// and the others still run; answers what the others gave and whether any failed.
pub fn each_backend<T>(
    backends: &[Backend],
    mut run: impl FnMut(Backend) -> anyhow::Result<T>,
) -> (Vec<T>, bool) {
    let mut done = Vec::new();
    let mut failed = false;
    for &backend in backends {
        println!("\n== {} ==", backend_name(backend));
        match run(backend) {
            Ok(outcome) => done.push(outcome),
            Err(err) => {
                eprintln!("{}: FAILED: {err:#}", backend_name(backend));
                failed = true;
            }
        }
    }
    (done, failed)
}

/// Prints the backends' closing reports and answers the exit status: 1 if any backend failed.
pub fn finish(reports: &[String], failed: bool) -> ExitCode {
    for report in reports {
        println!("{report}");
    }
    if failed {
        eprintln!("\nbenchmark FAILED (see above)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The 1, 5 and 15 minute load averages: other work on the machine skews every figure.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Quiet logs and the load generator's runtime: two threads, like the service's workers.
pub fn bench_runtime() -> tokio::runtime::Runtime {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("error"))
        .with_target(false)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A benchmark's options that hold the common ones.
pub trait WithRunOptions {
    fn run_options(&self) -> &RunOptions;
}

/// A whole run of a benchmark whose backends each answer rows of one table: the options (or the
/// usage and exit code 2), the `header` line, `run` per backend, then the table of every
/// backend's rows counting `unit` and the backends' reports; answers the exit status.
pub fn run_tabled<O: WithRunOptions>(
    parsed: Result<O, String>,
    usage: &str,
    unit: &str,
    header: impl FnOnce(&O) -> String,
    mut run: impl FnMut(Backend, &O, &tokio::runtime::Runtime) -> anyhow::Result<(Vec<Row>, String)>,
) -> ExitCode {
    let (options, runtime) = match start(parsed, usage) {
        Ok(started) => started,
        Err(code) => return code,
    };
    println!("{}", header(&options));
    let (outcomes, failed) = each_backend(&options.run_options().backends, |backend| {
        run(backend, &options, &runtime)
    });
    let (rows, reports): (Vec<Vec<Row>>, Vec<String>) = outcomes.into_iter().unzip();
    println!("\n{}", table(&rows.concat(), unit));
    finish(&reports, failed)
}
