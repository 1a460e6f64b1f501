//! A real headless Chromium driven over WebDriver: each test launches its own `chromedriver`
//! on a free port, which starts Chromium with a throw-away profile. Pages are checked for
//! JavaScript errors (the browser's own console log: uncaught exceptions, `console.error`,
//! CSP violations and failed loads all land there) and for requests to any other host.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a view may take to show its data.
const VIEW_TIMEOUT: Duration = Duration::from_secs(20);

/// The driver and browser binaries, or `None` when this machine has no browser. Without one
/// the UI tests are skipped loudly on a developer machine and fail under CI (`CI` set), where
/// `.ci/run` installs Debian's `chromium` and `chromium-driver`.
pub fn binaries() -> Option<(PathBuf, PathBuf)> {
    let find = |env: &str, default: &str| {
        std::env::var_os(env)
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from(default)).filter(|path| path.exists()))
    };
    let driver = find("VERDICT_CHROMEDRIVER", "/usr/bin/chromedriver");
    let browser = find("VERDICT_CHROMIUM", "/usr/bin/chromium");
    match (driver, browser) {
        (Some(driver), Some(browser)) => Some((driver, browser)),
        _ => {
            let ci =
                std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0");
            assert!(
                !ci,
                "CI is set but chromedriver/chromium are missing: install Debian's `chromium` and \
                 `chromium-driver` (.ci/run does), or point VERDICT_CHROMEDRIVER and VERDICT_CHROMIUM at them"
            );
            eprintln!(
                "\n\n************************************************************************\n\
                 SKIPPING the audit UI browser tests: no chromedriver/chromium here.\n\
                 Install Debian's `chromium` and `chromium-driver` to run them.\n\
                 ************************************************************************\n"
            );
            None
        }
    }
}

/// A running chromedriver; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

async fn start_driver(driver: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", driver.display()));
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let ready = http.get(format!("{}/status", driver.url)).send().await;
        if let Ok(response) = ready
            && let Ok(body) = response.json::<Value>().await
            && body["value"]["ready"] == true
        {
            return driver;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not become ready on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One browser session on the UI of the server at `base`.
pub struct Page {
    pub client: Client,
    pub base: String,
    http: reqwest::Client,
    driver: Driver,
    session: String,
    _profile: tempfile::TempDir,
}

impl Page {
    /// Runs `body` in a fresh browser and always ends the session, even when `body` panics,
    /// so no Chromium outlives its test.
    pub async fn with<F, Fut>(base: &str, body: F)
    where
        F: FnOnce(Page) -> Fut,
        Fut: std::future::Future<Output = Page>,
    {
        use futures_util::FutureExt;
        let Some((driver, browser)) = binaries() else {
            return;
        };
        let page = Page::launch(base, &driver, &browser).await;
        let client = page.client.clone();
        let outcome = std::panic::AssertUnwindSafe(body(page)).catch_unwind().await;
        let _ = client.close().await;
        match outcome {
            Ok(page) => drop(page),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    async fn launch(base: &str, driver: &Path, browser: &Path) -> Page {
        let driver = start_driver(driver).await;
        let profile = tempfile::tempdir().expect("a profile directory");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1440,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .expect("a Chromium session");
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("a session id");
        Page {
            client,
            base: base.to_owned(),
            http: reqwest::Client::new(),
            driver,
            session,
            _profile: profile,
        }
    }

    /// Loads `path` of the UI and waits until its view has its data.
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|error| panic!("cannot open {path}: {error}"));
        self.wait_ready().await;
    }

    /// Waits until the view shown has its data (the page marks `<body data-ready>`).
    pub async fn wait_ready(&self) {
        self.client
            .wait()
            .at_most(VIEW_TIMEOUT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css("body[data-ready='true']"))
            .await
            .unwrap_or_else(|error| panic!("the view never became ready: {error}"));
    }

    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(VIEW_TIMEOUT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("`{css}` never appeared: {error}"))
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(error) => panic!("no `{css}` on {}: {error}", self.url().await),
        }
    }

    pub async fn find_all(&self, css: &str) -> Vec<fantoccini::elements::Element> {
        self.client.find_all(Locator::Css(css)).await.expect("find_all")
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|url| url.to_string())
            .unwrap_or_default()
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// Runs `script`, which calls `done(value)` when finished.
    pub async fn eval_async(&self, script: &str, args: Vec<Value>) -> Value {
        let script = format!("const done = arguments[arguments.length - 1];\n{script}");
        self.client
            .execute_async(&script, args)
            .await
            .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// The browser console's entries since the last call: errors and warnings only.
    pub async fn console_problems(&self) -> Vec<String> {
        let response = self
            .http
            .post(format!("{}/session/{}/se/log", self.driver.url, self.session))
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .expect("the browser log");
        let body: Value = response.json().await.expect("the browser log as JSON");
        body["value"]
            .as_array()
            .unwrap_or_else(|| panic!("no browser log: {body}"))
            .iter()
            .filter(|entry| entry["level"] == "SEVERE" || entry["level"] == "WARNING")
            .map(|entry| format!("{}: {}", entry["level"], entry["message"]))
            .collect()
    }

    /// Every URL this document has loaded (itself, scripts, styles, data requests).
    async fn loaded_urls(&self) -> Vec<String> {
        let urls = self
            .eval(
                "return performance.getEntries().map((e) => e.name).filter((n) => /^[a-z]+:/.test(n));",
                vec![],
            )
            .await;
        urls.as_array()
            .expect("an array of URLs")
            .iter()
            .map(|url| url.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Fails on any console error or warning so far and on any request that left this
    /// server, then returns how many URLs the page loaded.
    pub async fn assert_clean(&self, what: &str) -> usize {
        let problems = self.console_problems().await;
        assert!(
            problems.is_empty(),
            "{what}: the browser reported problems:\n{}",
            problems.join("\n")
        );
        let urls = self.loaded_urls().await;
        let origin = format!("{}/", self.base);
        let outside: Vec<&String> = urls.iter().filter(|url| !url.starts_with(&origin)).collect();
        assert!(outside.is_empty(), "{what}: requests left {origin}: {outside:?}");
        assert!(origin.starts_with("http://127.0.0.1:"), "the server is local");
        urls.len()
    }

    /// Saves a screenshot as `name` in `dir`, for the README.
    pub async fn screenshot(&self, dir: &Path, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::create_dir_all(dir).expect("the screenshot directory");
        std::fs::write(dir.join(name), png).expect("the screenshot written");
    }
}
