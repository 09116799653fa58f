//! Settings: defaults, overridden by an optional TOML file, overridden by `PB_*` / `DATABASE_URL`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: String,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub environment: Environment,
    pub jwt_secret: String,
    pub card_secret: String,
    pub jwt_previous_secret: String,
    pub wechat_api_base: String,
    pub wechat_appid: String,
    pub wechat_secret: String,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl_seconds: i64,
    pub refresh_token_ttl_days: i64,
    pub login_max_failures_per_phone: i64,
    pub login_max_failures_per_ip: i64,
    pub login_failure_window_seconds: i64,
    pub db_pool_size: u32,
    pub db_acquire_timeout_ms: u64,
    pub sqlite_synchronous: String,
    pub busy_timeout_ms: u64,
    pub seal_interval_ms: u64,
    pub idempotency_retention_hours: i64,
    pub default_hold_seconds: i64,
    pub max_body_bytes: usize,
    pub workers: usize,
    pub log: String,
    pub utc_offset_hours: i64,
    pub qr_base_url: String,
    pub qr_step_seconds: i64,
    pub scan_grace_minutes: i64,
    pub appeal_window_days: i64,
    pub auto_settle_minutes: i64,
    /// Empty: mail is off.
    pub smtp_url: String,
    pub mail_from: String,
    pub mail_max_attempts: i64,
    pub mail_poll_ms: u64,
}

/// Every setting: (key, environment variable, default, description). The README table is this list.
pub const SETTINGS: &[(&str, &str, &str, &str)] = &[
    (
        "bind",
        "PB_BIND",
        "127.0.0.1:8080",
        "Address and port to listen on",
    ),
    (
        "database_url",
        "DATABASE_URL",
        "sqlite://./data/pointsbank.db",
        "`postgres://…` for PostgreSQL, otherwise a SQLite file",
    ),
    (
        "data_dir",
        "PB_DATA_DIR",
        "./data",
        "Where the development JWT secret (and by default the SQLite file) live",
    ),
    (
        "environment",
        "PB_ENV",
        "development",
        "`development` or `production`; production refuses to start without `PB_JWT_SECRET`",
    ),
    (
        "jwt_secret",
        "PB_JWT_SECRET",
        "(generated in development)",
        "HS256 signing secret, at least 32 bytes",
    ),
    ("jwt_previous_secret", "PB_JWT_PREVIOUS_SECRET", "(none)", "During a key rotation: the old PB_JWT_SECRET, still accepted (not used to sign) until its tokens expire"),
    ("card_secret", "PB_CARD_SECRET", "(generated in development)", "Signs the QR codes printed on member cards, at least 32 bytes; keep it when rotating PB_JWT_SECRET"),
    ("wechat_appid", "PB_WECHAT_APPID", "(none)", "The mini-program's AppID; WeChat sign-in is off without it"),
    ("wechat_secret", "PB_WECHAT_SECRET", "(none)", "The mini-program's AppSecret"),
    ("wechat_api_base", "PB_WECHAT_API_BASE", "https://api.weixin.qq.com", "Where `jscode2session` is called (tests point it at a local server)"),
    (
        "jwt_issuer",
        "PB_JWT_ISSUER",
        "pointsbank",
        "`iss` of issued tokens, checked on every request",
    ),
    (
        "jwt_audience",
        "PB_JWT_AUDIENCE",
        "pointsbank-api",
        "`aud` of issued tokens, checked on every request",
    ),
    (
        "access_token_ttl_seconds",
        "PB_ACCESS_TOKEN_TTL_SECONDS",
        "900",
        "Lifetime of an access token",
    ),
    (
        "refresh_token_ttl_days",
        "PB_REFRESH_TOKEN_TTL_DAYS",
        "30",
        "Lifetime of a refresh token (a sign-in session)",
    ),
    (
        "login_max_failures_per_phone",
        "PB_LOGIN_MAX_FAILURES_PER_PHONE",
        "5",
        "Failed sign-ins per phone number within the window before 429",
    ),
    (
        "login_max_failures_per_ip",
        "PB_LOGIN_MAX_FAILURES_PER_IP",
        "20",
        "Failed sign-ins per client address within the window before 429",
    ),
    (
        "login_failure_window_seconds",
        "PB_LOGIN_FAILURE_WINDOW_SECONDS",
        "900",
        "The sign-in rate-limit window",
    ),
    (
        "db_pool_size",
        "PB_DB_POOL_SIZE",
        "8 (SQLite) / 16 (PostgreSQL)",
        "Database connections per instance",
    ),
    (
        "db_acquire_timeout_ms",
        "PB_DB_ACQUIRE_TIMEOUT_MS",
        "5000",
        "Wait for a free connection before answering 503",
    ),
    (
        "sqlite_synchronous",
        "PB_SQLITE_SYNCHRONOUS",
        "FULL",
        "SQLite durability: `FULL` (every commit on disk) or `NORMAL`",
    ),
    (
        "busy_timeout_ms",
        "PB_BUSY_TIMEOUT_MS",
        "5000",
        "SQLite: how long a writer waits for the write lock",
    ),
    (
        "seal_interval_ms",
        "PB_SEAL_INTERVAL_MS",
        "1000",
        "How often the sealer chains new entries and expires overdue holds",
    ),
    (
        "idempotency_retention_hours",
        "PB_IDEMPOTENCY_RETENTION_HOURS",
        "168",
        "How long an Idempotency-Key is remembered",
    ),
    (
        "default_hold_seconds",
        "PB_DEFAULT_HOLD_SECONDS",
        "604800",
        "Deadline of a hold when the request names none",
    ),
    (
        "max_body_bytes",
        "PB_MAX_BODY_BYTES",
        "262144",
        "Largest accepted JSON body",
    ),
    (
        "workers",
        "PB_WORKERS",
        "number of CPUs",
        "HTTP worker threads",
    ),
    (
        "log",
        "PB_LOG",
        "info",
        "Log filter (tracing `EnvFilter` syntax)",
    ),
    ("utc_offset_hours", "PB_UTC_OFFSET_HOURS", "8", "Local time of the banks (China: +8): where days, months and years of rule caps begin"),
    ("qr_base_url", "PB_QR_BASE_URL", "https://jfyh.example.cn", "Activity QR codes encode `<this>/q/<token>`; register it in the mini-program's \"scan to open\" settings"),
    ("qr_step_seconds", "PB_QR_STEP_SECONDS", "20", "Default rotation of an activity's dynamic QR code (per activity it can differ)"),
    ("scan_grace_minutes", "PB_SCAN_GRACE_MINUTES", "30", "Default: scans are accepted this long before an activity starts and after it ends; forgotten check-outs are closed after it"),
    ("appeal_window_days", "PB_APPEAL_WINDOW_DAYS", "7", "How long a volunteer may appeal a refused scan"),
    ("smtp_url", "PB_SMTP_URL", "(none: mail is off)", "The SMTP relay: `smtps://user:password@host:465`, `smtp://host:587?tls=required` (STARTTLS) or `smtp://host:25` (no TLS, a relay on the same host)"),
    ("mail_from", "PB_MAIL_FROM", "积分银行 <noreply@localhost>", "The sender of every mail; its domain also names the Message-IDs"),
    ("mail_max_attempts", "PB_MAIL_MAX_ATTEMPTS", "8", "Delivery attempts of a message before it is dead (failures that may pass are retried with backoff)"),
    ("mail_poll_ms", "PB_MAIL_POLL_MS", "1000", "How often the sender looks for due messages"),
    ("auto_settle_minutes", "PB_AUTO_SETTLE_MINUTES", "1440", "Activities not settled by their organiser are settled automatically this long after their scans close (time to correct forgotten check-outs first); negative turns it off"),
];

impl Settings {
    /// The banks' local time as an offset from UTC, for calendar periods.
    pub fn utc_offset_seconds(&self) -> i64 {
        self.utc_offset_hours * 3600
    }

    /// Reads the optional TOML file, then the environment, then validates.
    pub fn load(config_file: Option<&Path>) -> anyhow::Result<Settings> {
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        if let Some(path) = config_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            let table: toml::Table = text.parse().context("parsing the config file")?;
            for (key, value) in table {
                if !SETTINGS.iter().any(|(k, ..)| *k == key) {
                    bail!("unknown setting `{key}` in {}", path.display());
                }
                let text = match value {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                values.insert(key, text);
            }
        }
        for (key, env, ..) in SETTINGS {
            if let Ok(value) = std::env::var(env) {
                values.insert(key.to_string(), value);
            }
        }
        Settings::from_values(&values)
    }

    pub fn from_values(values: &BTreeMap<String, String>) -> anyhow::Result<Settings> {
        let get = |key: &str| {
            values
                .get(key)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        fn number<T: std::str::FromStr>(
            key: &str,
            value: Option<String>,
            default: T,
        ) -> anyhow::Result<T> {
            match value {
                None => Ok(default),
                Some(text) => text
                    .parse()
                    .map_err(|_| anyhow::anyhow!("setting `{key}` must be a number, got `{text}`")),
            }
        }
        let data_dir = PathBuf::from(get("data_dir").unwrap_or_else(|| "./data".into()));
        let database_url = get("database_url")
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("pointsbank.db").display()));
        let is_postgres = database_url.starts_with("postgres");
        let environment = match get("environment").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                bail!("setting `environment` must be development or production, got `{other}`")
            }
        };
        let sqlite_synchronous = get("sqlite_synchronous")
            .unwrap_or_else(|| "FULL".into())
            .to_uppercase();
        if !["FULL", "NORMAL", "EXTRA"].contains(&sqlite_synchronous.as_str()) {
            bail!("setting `sqlite_synchronous` must be FULL, NORMAL or EXTRA");
        }
        let settings = Settings {
            bind: get("bind").unwrap_or_else(|| "127.0.0.1:8080".into()),
            database_url,
            environment,
            jwt_secret: get("jwt_secret").unwrap_or_default(),
            card_secret: get("card_secret").unwrap_or_default(),
            jwt_previous_secret: get("jwt_previous_secret").unwrap_or_default(),
            wechat_api_base: get("wechat_api_base")
                .unwrap_or_else(|| "https://api.weixin.qq.com".into()),
            wechat_appid: get("wechat_appid").unwrap_or_default(),
            wechat_secret: get("wechat_secret").unwrap_or_default(),
            jwt_issuer: get("jwt_issuer").unwrap_or_else(|| "pointsbank".into()),
            jwt_audience: get("jwt_audience").unwrap_or_else(|| "pointsbank-api".into()),
            access_token_ttl_seconds: number(
                "access_token_ttl_seconds",
                get("access_token_ttl_seconds"),
                900,
            )?,
            refresh_token_ttl_days: number(
                "refresh_token_ttl_days",
                get("refresh_token_ttl_days"),
                30,
            )?,
            login_max_failures_per_phone: number(
                "login_max_failures_per_phone",
                get("login_max_failures_per_phone"),
                5,
            )?,
            login_max_failures_per_ip: number(
                "login_max_failures_per_ip",
                get("login_max_failures_per_ip"),
                20,
            )?,
            login_failure_window_seconds: number(
                "login_failure_window_seconds",
                get("login_failure_window_seconds"),
                900,
            )?,
            db_pool_size: number(
                "db_pool_size",
                get("db_pool_size"),
                if is_postgres { 16 } else { 8 },
            )?,
            db_acquire_timeout_ms: number(
                "db_acquire_timeout_ms",
                get("db_acquire_timeout_ms"),
                5000,
            )?,
            sqlite_synchronous,
            utc_offset_hours: number("utc_offset_hours", get("utc_offset_hours"), 8)?,
            qr_base_url: get("qr_base_url")
                .unwrap_or_else(|| "https://jfyh.example.cn".into())
                .trim_end_matches('/')
                .to_string(),
            qr_step_seconds: number("qr_step_seconds", get("qr_step_seconds"), 20)?,
            scan_grace_minutes: number("scan_grace_minutes", get("scan_grace_minutes"), 30)?,
            appeal_window_days: number("appeal_window_days", get("appeal_window_days"), 7)?,
            auto_settle_minutes: number("auto_settle_minutes", get("auto_settle_minutes"), 1440)?,
            busy_timeout_ms: number("busy_timeout_ms", get("busy_timeout_ms"), 5000)?,
            seal_interval_ms: number("seal_interval_ms", get("seal_interval_ms"), 1000)?,
            smtp_url: get("smtp_url").unwrap_or_default(),
            mail_from: get("mail_from").unwrap_or_else(|| "积分银行 <noreply@localhost>".into()),
            mail_max_attempts: number("mail_max_attempts", get("mail_max_attempts"), 8)?,
            mail_poll_ms: number("mail_poll_ms", get("mail_poll_ms"), 1000)?,
            idempotency_retention_hours: number(
                "idempotency_retention_hours",
                get("idempotency_retention_hours"),
                168,
            )?,
            default_hold_seconds: number(
                "default_hold_seconds",
                get("default_hold_seconds"),
                7 * 24 * 3600,
            )?,
            max_body_bytes: number("max_body_bytes", get("max_body_bytes"), 256 * 1024)?,
            workers: number(
                "workers",
                get("workers"),
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2),
            )?,
            log: get("log").unwrap_or_else(|| "info".into()),
            data_dir,
        };
        if settings.db_pool_size == 0 || settings.workers == 0 {
            bail!("`db_pool_size` and `workers` must be at least 1");
        }
        if settings.access_token_ttl_seconds < 60 {
            bail!("`access_token_ttl_seconds` must be at least 60");
        }
        if !(-12..=14).contains(&settings.utc_offset_hours) {
            bail!("`utc_offset_hours` must be between -12 and 14");
        }
        if !(5..=300).contains(&settings.qr_step_seconds) {
            bail!("`qr_step_seconds` must be between 5 and 300");
        }
        if !(1..=100).contains(&settings.mail_max_attempts) || settings.mail_poll_ms == 0 {
            bail!("`mail_max_attempts` must be 1–100 and `mail_poll_ms` positive");
        }
        if !(0..=1440).contains(&settings.scan_grace_minutes) || settings.appeal_window_days < 0 {
            bail!("`scan_grace_minutes` must be 0–1440 and `appeal_window_days` not negative");
        }
        if !settings.qr_base_url.starts_with("https://")
            && !settings.qr_base_url.starts_with("http://")
        {
            bail!("`qr_base_url` must be an http(s) URL");
        }
        Ok(settings)
    }

    /// Settings for a test or benchmark instance: random port, the given database.
    pub fn for_instance(database_url: &str, data_dir: &Path) -> Settings {
        let mut values = BTreeMap::new();
        values.insert("bind".into(), "127.0.0.1:0".into());
        values.insert("database_url".into(), database_url.into());
        values.insert("data_dir".into(), data_dir.display().to_string());
        values.insert(
            "card_secret".into(),
            "card-secret-card-secret-card-secret!".into(),
        );
        values.insert(
            "jwt_secret".into(),
            "test-secret-test-secret-test-secret!".into(),
        );
        values.insert("log".into(), "warn".into());
        let mut settings = Settings::from_values(&values).expect("fixed test settings are valid");
        settings.seal_interval_ms = 200;
        settings
    }

    /// The signing secrets: configured, or in development generated once and kept in the data dir.
    pub fn resolve_jwt_secret(&mut self) -> anyhow::Result<()> {
        let jwt = self.resolve_secret(&self.jwt_secret, "PB_JWT_SECRET", "jwt-secret")?;
        let card = self.resolve_secret(&self.card_secret, "PB_CARD_SECRET", "card-secret")?;
        self.jwt_secret = jwt;
        self.card_secret = card;
        Ok(())
    }

    fn resolve_secret(
        &self,
        configured: &str,
        variable: &str,
        file: &str,
    ) -> anyhow::Result<String> {
        if !configured.is_empty() {
            if configured.len() < 32 {
                bail!("{variable} must be at least 32 bytes");
            }
            return Ok(configured.to_string());
        }
        if self.environment == Environment::Production {
            bail!("{variable} is required when PB_ENV=production");
        }
        std::fs::create_dir_all(&self.data_dir)?;
        let path = self.data_dir.join(file);
        let secret = match std::fs::read_to_string(&path) {
            Ok(existing) => existing.trim().to_string(),
            Err(_) => {
                use rand::RngCore;
                let mut bytes = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut bytes);
                let secret = hex::encode(bytes);
                write_private(&path, &secret)?;
                secret
            }
        };
        tracing::warn!(
            path = %path.display(),
            "development mode: using a generated {variable}; set it and PB_ENV=production for real use"
        );
        Ok(secret)
    }
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_a_local_sqlite_service() {
        let settings = Settings::from_values(&BTreeMap::new()).unwrap();
        assert_eq!(settings.bind, "127.0.0.1:8080");
        assert_eq!(settings.database_url, "sqlite://./data/pointsbank.db");
        assert_eq!(settings.sqlite_synchronous, "FULL");
        assert_eq!(settings.db_pool_size, 8);
    }

    #[test]
    fn bad_values_are_named_in_the_error() {
        let mut values = BTreeMap::new();
        values.insert("db_pool_size".to_string(), "many".to_string());
        let err = Settings::from_values(&values).unwrap_err().to_string();
        assert!(err.contains("db_pool_size"), "{err}");
    }

    #[test]
    fn production_needs_a_configured_secret() {
        let mut values = BTreeMap::new();
        values.insert("environment".to_string(), "production".to_string());
        let mut settings = Settings::from_values(&values).unwrap();
        assert!(settings.resolve_jwt_secret().is_err());
    }
}
