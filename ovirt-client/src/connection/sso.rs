//! Single sign-on: a token from `POST /ovirt-engine/sso/oauth/token`, revoked by
//! `POST /ovirt-engine/services/sso-logout` (what the official SDK does).

use serde::Deserialize;

use super::{AuthMethod, Connection, Secret};
use crate::error::{OvirtError, Result};

/// The SSO service's JSON answer: a token, or an error in one of its two spellings.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
    error_code: Option<String>,
    error_description: Option<String>,
}

impl Connection {
    /// Fetches a new token (replacing the current one).
    pub(crate) fn login(&self) -> Result<()> {
        let what = "SSO login";
        let form = [
            ("grant_type", "password"),
            ("scope", "ovirt-app-api"),
            ("username", self.options.user.as_str()),
            ("password", self.password.0.as_str()),
        ];
        let response = self
            .http
            .post(format!("{}/ovirt-engine/sso/oauth/token", self.origin))
            .header("Accept", "application/json")
            .form(&form)
            .send()
            .map_err(|e| OvirtError::http(what, e))?;
        let status = response.status().as_u16();
        let body = response.text().map_err(|e| OvirtError::http(what, e))?;
        let answer: TokenAnswer = serde_json::from_str(&body).map_err(|_| OvirtError::Status {
            what: what.to_owned(),
            status,
            body: body.chars().take(200).collect(),
        })?;
        if let Some(token) = answer.access_token.filter(|_| status == 200) {
            *self.token.lock().expect("token lock") = Some(Secret(token));
            return Ok(());
        }
        // The SDK's reading: `error_code` + `error`, else OpenID's `error` + `error_description`.
        let (code, description) = match answer.error_code {
            Some(code) => (code, answer.error.unwrap_or_default()),
            None => (
                answer.error.unwrap_or_else(|| format!("HTTP {status}")),
                answer.error_description.unwrap_or_default(),
            ),
        };
        Err(OvirtError::Sso {
            engine: self.origin.clone(),
            user: self.options.user.clone(),
            code,
            description,
        })
    }

    /// Revokes the token, if there is one (once: a second call does nothing).
    pub(crate) fn logout(&self) -> Result<()> {
        if self.options.auth != AuthMethod::Sso {
            return Ok(());
        }
        let Some(token) = self.token.lock().expect("token lock").take() else {
            return Ok(());
        };
        let what = "SSO logout";
        let response = self
            .http
            .post(format!("{}/ovirt-engine/services/sso-logout", self.origin))
            .header("Accept", "application/json")
            .form(&[("scope", "ovirt-app-api"), ("token", token.0.as_str())])
            .send()
            .map_err(|e| OvirtError::http(what, e))?;
        let status = response.status().as_u16();
        if status == 200 {
            Ok(())
        } else {
            Err(OvirtError::Status {
                what: what.to_owned(),
                status,
                body: response
                    .text()
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect(),
            })
        }
    }

    /// The `Authorization` header value.
    pub(crate) fn authorization(&self) -> String {
        match self.options.auth {
            AuthMethod::Basic => {
                use base64::Engine as _;
                let pair = format!("{}:{}", self.options.user, self.password.0);
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            AuthMethod::Sso => match &*self.token.lock().expect("token lock") {
                Some(token) => format!("Bearer {}", token.0),
                None => String::new(),
            },
        }
    }
}
