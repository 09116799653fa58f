//! WeChat mini-program sign-in: the `jscode2session` call that turns a `wx.login` code into the
//! user's openid. Documented at developers.weixin.qq.com (`auth.code2Session`).

use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct WechatConfig {
    pub api_base: String,
    pub appid: String,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatSession {
    pub openid: String,
    pub unionid: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WechatError {
    /// errcode 40029 (and 40163, code already used): ask the mini-program for a fresh `wx.login`.
    #[error("the login code is invalid or was already used")]
    InvalidCode,
    /// errcode 45011: WeChat limits this user's calls.
    #[error("WeChat is rate-limiting this user; retry in a minute")]
    RateLimited,
    /// errcode -1: WeChat is busy.
    #[error("WeChat is busy; retry shortly")]
    Busy,
    #[error("WeChat sign-in failed: {0}")]
    Failed(String),
}

#[derive(Deserialize)]
struct Reply {
    openid: Option<String>,
    unionid: Option<String>,
    #[serde(default)]
    errcode: i64,
    errmsg: Option<String>,
}

pub async fn code_to_session(
    config: &WechatConfig,
    code: &str,
) -> Result<WechatSession, WechatError> {
    if config.appid.is_empty() || config.secret.is_empty() {
        return Err(WechatError::Failed(
            "PB_WECHAT_APPID and PB_WECHAT_SECRET are not configured".into(),
        ));
    }
    let url = format!(
        "{}/sns/jscode2session",
        config.api_base.trim_end_matches('/')
    );
    let response = reqwest::Client::new()
        .get(url)
        .query(&[
            ("appid", config.appid.as_str()),
            ("secret", config.secret.as_str()),
            ("js_code", code),
            ("grant_type", "authorization_code"),
        ])
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| WechatError::Failed(format!("cannot reach WeChat: {}", e.without_url())))?;
    // WeChat answers errors with HTTP 200 and an errcode; its content type is sometimes text/plain.
    let body = response.bytes().await.map_err(|e| {
        WechatError::Failed(format!("reading WeChat's answer: {}", e.without_url()))
    })?;
    let reply: Reply = serde_json::from_slice(&body)
        .map_err(|_| WechatError::Failed("WeChat's answer is not JSON".into()))?;
    match (reply.errcode, reply.openid) {
        (0, Some(openid)) if !openid.is_empty() => Ok(WechatSession {
            openid,
            unionid: reply.unionid,
        }),
        (40029 | 40163, _) => Err(WechatError::InvalidCode),
        (45011, _) => Err(WechatError::RateLimited),
        (-1, _) => Err(WechatError::Busy),
        (errcode, _) => Err(WechatError::Failed(format!(
            "errcode {errcode}: {}",
            reply.errmsg.unwrap_or_default()
        ))),
    }
}
