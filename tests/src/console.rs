//! The county's staff console as a clerk uses it, through its HTML forms:
//! sign in, read the case list and a case page, change a case's status
//! with its notice. (The console's own tests drive it in a real browser;
//! here it is the other end of the kiosk's journey.)

use anyhow::{bail, Context};
use reqwest::StatusCode;

/// A signed-in staff session with its cookie and CSRF token.
#[derive(Debug)]
pub struct ConsoleClient {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
    csrf: String,
}

/// The value of the first `name="csrf"` field of `html`.
fn csrf_of(html: &str) -> anyhow::Result<String> {
    let at = html
        .find("name=\"csrf\" value=\"")
        .context("the page has no csrf field")?;
    Ok(html[at + 19..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned())
}

impl ConsoleClient {
    /// Signs `user` in at the registry `base` (`http://host:port`).
    pub fn sign_in(base: &str, user: &str, password: &str) -> anyhow::Result<ConsoleClient> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let mut c = ConsoleClient {
            rt,
            http,
            base: base.to_owned(),
            csrf: String::new(),
        };
        let form = c.page("/console/login")?;
        let csrf = csrf_of(&form)?;
        let res = c.rt.block_on(
            c.http
                .post(format!("{}/console/login", c.base))
                .form(&[("user", user), ("password", password), ("csrf", &csrf)])
                .send(),
        )?;
        if res.status() != StatusCode::SEE_OTHER {
            bail!("signing in as {user} answered {}", res.status());
        }
        c.csrf = csrf_of(&c.page("/console/cases")?)?;
        Ok(c)
    }

    /// The HTML of the console page at `path`; an error unless 200.
    pub fn page(&self, path: &str) -> anyhow::Result<String> {
        self.rt.block_on(async {
            let res = self.http.get(format!("{}{path}", self.base)).send().await?;
            let status = res.status();
            let text = res.text().await?;
            if status != StatusCode::OK {
                bail!("GET {path} answered {status}");
            }
            Ok(text)
        })
    }

    /// Moves `case` from `seen` to `to` with the notice `text` (empty when
    /// the move needs none), as the case page's form does.
    pub fn change(&self, case: &str, seen: &str, to: &str, text: &str) -> anyhow::Result<()> {
        self.rt.block_on(async {
            let res = self
                .http
                .post(format!("{}/console/cases/{case}/status", self.base))
                .form(&[
                    ("csrf", self.csrf.as_str()),
                    ("seen", seen),
                    ("to", to),
                    ("text", text),
                ])
                .send()
                .await?;
            if res.status() != StatusCode::SEE_OTHER {
                bail!("{seen} → {to} answered {}", res.status());
            }
            Ok(())
        })
    }
}
