//! Prometheus metrics kept in process (they describe this instance, not the ledger).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct RouteStats {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), RouteStats>>,
    pub entries_sealed: AtomicU64,
    pub holds_expired: AtomicU64,
}

impl Metrics {
    /// `route` is the matched pattern (e.g. `/api/v1/banks/{bank_id}`), never the raw path,
    /// so ids do not explode the number of series.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let stats = requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        stats.count += 1;
        stats.sum_seconds += seconds;
        for (slot, bound) in stats.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *slot += 1;
            }
        }
    }

    pub fn render(&self, pool_connections: u32, pool_idle: u32) -> String {
        let mut out = String::new();
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str("# HELP pb_http_requests_total HTTP requests by route and status.\n# TYPE pb_http_requests_total counter\n");
        for ((method, route, status), stats) in requests.iter() {
            let _ = writeln!(out, "pb_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}", stats.count);
        }
        out.push_str("# HELP pb_http_request_duration_seconds Request latency.\n# TYPE pb_http_request_duration_seconds histogram\n");
        let mut by_route: BTreeMap<(&str, &str), RouteStats> = BTreeMap::new();
        for ((method, route, _), stats) in requests.iter() {
            let merged = by_route
                .entry((method.as_str(), route.as_str()))
                .or_default();
            merged.count += stats.count;
            merged.sum_seconds += stats.sum_seconds;
            for (into, from) in merged.buckets.iter_mut().zip(stats.buckets) {
                *into += from;
            }
        }
        for ((method, route), stats) in by_route {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (count, bound) in stats.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "pb_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "pb_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                stats.count
            );
            let _ = writeln!(
                out,
                "pb_http_request_duration_seconds_sum{{{labels}}} {}",
                stats.sum_seconds
            );
            let _ = writeln!(
                out,
                "pb_http_request_duration_seconds_count{{{labels}}} {}",
                stats.count
            );
        }
        let _ = writeln!(out, "# HELP pb_entries_sealed_total Entries chained into seals by this instance.\n# TYPE pb_entries_sealed_total counter\npb_entries_sealed_total {}", self.entries_sealed.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP pb_holds_expired_total Holds expired by this instance's sweeper.\n# TYPE pb_holds_expired_total counter\npb_holds_expired_total {}", self.holds_expired.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP pb_db_pool_connections Open database connections.\n# TYPE pb_db_pool_connections gauge\npb_db_pool_connections {pool_connections}");
        let _ = writeln!(out, "# HELP pb_db_pool_idle Idle database connections.\n# TYPE pb_db_pool_idle gauge\npb_db_pool_idle {pool_idle}");
        out
    }
}
