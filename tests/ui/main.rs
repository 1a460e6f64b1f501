//! The audit UI in a real headless Chromium against a real server seeded through its API
//! (math batches, and code judged in the real wasm sandbox). Every page visited is checked for
//! JavaScript errors and for requests that leave 127.0.0.1.
//!
//! Without chromedriver and chromium these tests skip loudly, unless `CI` is set: then a
//! missing browser is a failure. Set `VERDICT_UI_SCREENSHOTS=DIR` to save screenshots of the
//! main views there (how `docs/ui-*.png` were made).

mod browser;
mod server;

use std::path::PathBuf;

use fantoccini::key::Key;
use serde_json::{Value, json};

use browser::Page;
use server::{CODE_RUN, MATH_CORRECT, MATH_INCORRECT, MATH_NO_ANSWER, MATH_RUN, TREND_RUN, server};

/// The `data-verdict` of every row of the submissions table.
async fn row_verdicts(page: &Page) -> Vec<String> {
    let mut verdicts = Vec::new();
    for row in page.find_all("#submissions-table tbody tr").await {
        verdicts.push(row.attr("data-verdict").await.unwrap().unwrap_or_default());
    }
    verdicts
}

#[tokio::test]
async fn filtering_by_verdict_shows_only_matching_rows_and_the_filter_lives_in_the_url() {
    let base = &server().base;
    Page::with(base, |page| async move {
        page.open(&format!("/ui/submissions?run_id={MATH_RUN}")).await;
        assert_eq!(
            row_verdicts(&page).await.len(),
            MATH_CORRECT + MATH_INCORRECT + MATH_NO_ANSWER
        );

        page.find("#filters select[name=verdict]")
            .await
            .select_by_value("incorrect")
            .await
            .unwrap();
        page.wait_ready().await;

        let verdicts = row_verdicts(&page).await;
        assert_eq!(
            verdicts,
            vec!["incorrect"; MATH_INCORRECT],
            "only the incorrect rows"
        );
        let url = page.url().await;
        assert!(
            url.contains("verdict=incorrect") && url.contains(&format!("run_id={MATH_RUN}")),
            "the filters are in the address: {url}"
        );
        page.assert_clean("filtered list").await;

        // The address alone reproduces the view.
        page.client.goto(&url).await.unwrap();
        page.wait_ready().await;
        assert_eq!(row_verdicts(&page).await, vec!["incorrect"; MATH_INCORRECT]);
        assert_eq!(
            page.find("#filters select[name=verdict]")
                .await
                .prop("value")
                .await
                .unwrap()
                .as_deref(),
            Some("incorrect")
        );

        // A verdict nobody got: an empty table, said so.
        page.open("/ui/submissions?verdict=time_limit_exceeded").await;
        assert!(row_verdicts(&page).await.is_empty());
        page.find("#no-rows").await;
        page.assert_clean("empty list").await;
        page
    })
    .await;
}

#[tokio::test]
async fn a_failing_code_submission_shows_the_failing_tests_first_difference_and_stderr() {
    let base = &server().base;
    Page::with(base, |page| async move {
        page.open(&format!("/ui/submissions?run_id={CODE_RUN}&verdict=wrong_answer"))
            .await;
        assert_eq!(row_verdicts(&page).await, vec!["wrong_answer"]);
        page.find("#submissions-table tbody tr a")
            .await
            .click()
            .await
            .unwrap();
        page.wait_ready().await;
        assert!(
            page.url().await.contains("/ui/submissions/01"),
            "on the submission's page"
        );

        // Test 1 passed; test 2 printed squares: line 2 is "4" where "2" was expected.
        let passed = page.find("#test-0").await;
        assert_eq!(
            passed.attr("data-status").await.unwrap().as_deref(),
            Some("accepted")
        );
        let failed = page.find("#test-1").await;
        assert_eq!(
            failed.attr("data-status").await.unwrap().as_deref(),
            Some("wrong_answer")
        );
        assert_eq!(page.text("#test-1 pre.expected mark.diff").await, "2");
        assert_eq!(page.text("#test-1 pre.actual mark.diff").await, "4");
        assert_eq!(page.text("#test-1 pre.actual").await, "1\n4\n9");
        let note = page.text("#test-1 .diff-note").await;
        assert!(note.contains("line 2, column 1"), "{note}");
        assert!(page.text("#test-1 pre.stderr").await.contains("debug: n=3"));
        assert!(
            page.find_all("#test-0 mark.diff").await.is_empty(),
            "a passed test has no diff"
        );

        // The extracted code is highlighted, comment and all, and is the code as written.
        let code = page.text("#extracted-code pre").await;
        assert!(
            code.starts_with("import sys") && code.contains("print(i * i)"),
            "{code}"
        );
        assert_eq!(page.text("#extracted-code .tok-comment").await, "# oops: squares");
        assert!(!page.find_all("#extracted-code .tok-keyword").await.is_empty());

        // The thinking is collapsed, and `t` opens it.
        let think = page.find("#think").await;
        assert_eq!(think.prop("open").await.unwrap().as_deref(), Some("false"));
        page.find("body").await.send_keys("t").await.unwrap();
        assert_eq!(think.prop("open").await.unwrap().as_deref(), Some("true"));
        page.assert_clean("code submission").await;
        page
    })
    .await;
}

#[tokio::test]
async fn re_verify_shows_no_drift_for_an_untouched_row_and_drift_for_an_edited_one() {
    let server = server();
    Page::with(&server.base, |page| async move {
        let id = first_id(&server.base, &format!("run_id={CODE_RUN}&verdict=wrong_answer")).await;
        page.open(&format!("/ui/submissions/{id}")).await;
        page.find("#reverify").await.click().await.unwrap();
        let result = page.wait_for("#reverify-result .result").await;
        assert_eq!(
            result.attr("data-drifted").await.unwrap().as_deref(),
            Some("false")
        );
        assert!(result.text().await.unwrap().contains("No drift"));
        assert!(
            !page.find_all("#reverifications tr").await.is_empty(),
            "the re-check is listed"
        );

        // Edit a stored math verdict behind the API's back, as a past verifier bug would have.
        let id = first_id(&server.base, &format!("run_id={MATH_RUN}&verdict=correct")).await;
        edit_verdict(&server.database_url, &id, "incorrect", 1.0).await;
        page.open(&format!("/ui/submissions/{id}")).await;
        page.find("body").await.send_keys("v").await.unwrap();
        let result = page.wait_for("#reverify-result .result").await;
        assert_eq!(
            result.attr("data-drifted").await.unwrap().as_deref(),
            Some("true")
        );
        let text = result.text().await.unwrap();
        assert!(
            text.contains("Drift") && text.contains("incorrect") && text.contains("correct"),
            "{text}"
        );
        page.assert_clean("re-verify").await;

        // Reloaded, the page lists the stored re-check.
        page.open(&format!("/ui/submissions/{id}")).await;
        assert_eq!(page.find_all("#reverifications tr.drifted").await.len(), 1);
        edit_verdict(&server.database_url, &id, "correct", 2.0).await;
        page
    })
    .await;
}

#[tokio::test]
async fn export_links_give_the_rows_the_table_shows() {
    let base = &server().base;
    Page::with(base, |page| async move {
        page.open(&format!("/ui/submissions?run_id={MATH_RUN}&kind=math")).await;
        let mut shown = Vec::new();
        for link in page.find_all("#submissions-table tbody tr td:first-child a").await {
            let href = link.attr("href").await.unwrap().unwrap();
            shown.push(href.rsplit('/').next().unwrap().to_owned());
        }
        assert_eq!(shown.len(), MATH_CORRECT + MATH_INCORRECT + MATH_NO_ANSWER);

        // Follow each export link as the browser would, from the page.
        let fetch = "fetch(arguments[0]).then(async (r) => done({ status: r.status, type: r.headers.get('content-type'), body: await r.text() }));";
        let jsonl = page.find("#export-jsonl").await.prop("href").await.unwrap().unwrap();
        assert!(jsonl.contains(&format!("run_id={MATH_RUN}")) && jsonl.contains("format=jsonl"), "{jsonl}");
        let got = page.eval_async(fetch, vec![json!(jsonl)]).await;
        assert_eq!(got["status"], 200);
        let exported: Vec<String> = got["body"]
            .as_str()
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap()["submission_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(exported, shown, "the export holds exactly the rows shown, in order");

        let csv = page.find("#export-csv").await.prop("href").await.unwrap().unwrap();
        let got = page.eval_async(fetch, vec![json!(csv)]).await;
        assert!(got["type"].as_str().unwrap().starts_with("text/csv"));
        let body = got["body"].as_str().unwrap();
        assert!(body.starts_with("submission_id,created_at,run_id,"));
        for id in &shown {
            assert!(body.contains(id.as_str()), "{id} missing from the CSV");
        }

        // A real click on the link with no key set is a plain navigation to the file: the
        // page does not intercept it.
        let intercepted = page
            .eval(
                "const a = document.querySelector('#export-jsonl'); let prevented = null; \
                 a.addEventListener('click', (e) => { prevented = e.defaultPrevented; e.preventDefault(); }, { once: true }); \
                 a.click(); return prevented;",
                vec![],
            )
            .await;
        assert_eq!(intercepted, json!(false));
        page.assert_clean("export").await;
        page
    })
    .await;
}

#[tokio::test]
async fn every_view_loads_without_javascript_errors_or_outside_requests() {
    let base = &server().base;
    let screenshots = std::env::var_os("VERDICT_UI_SCREENSHOTS").map(PathBuf::from);
    Page::with(base, |page| async move {
        // Runs: a table with the seeded runs, and the root address shows it too.
        page.open("/").await;
        let runs = page.text("#runs-table").await;
        for run in [MATH_RUN, CODE_RUN, TREND_RUN] {
            assert!(runs.contains(run), "{run} missing from the runs table");
        }
        assert!(
            page.assert_clean("runs").await >= 8,
            "page, scripts, style, icon and data"
        );

        // One run: its chart has a line per series, with a point per non-empty bucket.
        page.open(&format!("/ui/runs/{TREND_RUN}?buckets=40")).await;
        let points = page.find_all("#run-chart svg .series.reward circle").await.len();
        assert!((30..=40).contains(&points), "{points} points");
        let path = page
            .find("#run-chart svg .series.accuracy path")
            .await
            .attr("d")
            .await
            .unwrap()
            .unwrap();
        assert!(path.starts_with('M') && path.matches('L').count() >= 20, "{path}");
        page.assert_clean("run").await;
        if let Some(dir) = &screenshots {
            page.screenshot(dir, "ui-run.png").await;
        }

        // Submissions, browsed with the keyboard: `j` selects the first row, Enter opens it.
        page.open(&format!("/ui/submissions?run_id={MATH_RUN}&verdict=correct"))
            .await;
        page.assert_clean("submissions").await;
        page.find("body").await.send_keys("j").await.unwrap();
        page.client
            .active_element()
            .await
            .unwrap()
            .send_keys(&char::from(Key::Enter).to_string())
            .await
            .unwrap();
        page.wait_ready().await;
        assert!(page.url().await.contains("/ui/submissions/01"));

        // A math submission: the extracted answer marked, both answers parsed, the rule.
        assert_eq!(page.text("#extracted").await, "\\frac{1}{2}");
        assert_eq!(page.text("#gold-parsed").await, "0.5");
        assert_eq!(page.text("#predicted-parsed").await, "1/2");
        assert_eq!(page.text("#method").await, "rational");
        assert!(page.text("#prompt").await.contains("Compute the value"));
        page.assert_clean("math submission").await;

        if let Some(dir) = &screenshots {
            page.open(&format!("/ui/submissions?run_id={MATH_RUN}")).await;
            page.screenshot(dir, "ui-submissions.png").await;
            let id = first_id(&page.base, &format!("run_id={CODE_RUN}&verdict=wrong_answer")).await;
            page.client.set_window_size(1440, 1800).await.unwrap();
            page.open(&format!("/ui/submissions/{id}")).await;
            page.eval("document.querySelector('#answer').scrollIntoView();", vec![])
                .await;
            page.screenshot(dir, "ui-submission.png").await;
            page.client.set_window_size(1440, 1000).await.unwrap();
        }

        // An address the UI does not know, and a missing submission, are said so in the page.
        page.open("/ui/nowhere").await;
        assert_eq!(page.text("h1").await, "Not found");
        page.assert_clean("unknown view").await;
        page
    })
    .await;
}

#[tokio::test]
async fn the_tokenizer_marks_python_and_javascript_without_changing_the_code() {
    let base = &server().base;
    Page::with(base, |page| async move {
        page.open("/ui/runs").await;
        let script = "import('/ui/assets/highlight.js').then((m) => done(arguments[0].map(([code, lang]) => m.tokenize(code, lang))));";
        let samples = json!([
            ["@cache\ndef f(x):\n    return f\"{x}\" + 'a#b'  # note\n", "python"],
            ["const s = `a${1}`; /* c */ function g() { return 0x1F; } // end", "javascript"],
            ["s = '''multi\nline''' + r'\\d' + 1.5e3", "python"],
        ]);
        let tokens = page.eval_async(script, vec![samples.clone()]).await;
        for (sample, tokens) in samples.as_array().unwrap().iter().zip(tokens.as_array().unwrap()) {
            let joined: String = tokens.as_array().unwrap().iter().map(|t| t[1].as_str().unwrap()).collect();
            assert_eq!(joined, sample[0].as_str().unwrap(), "the tokens spell the code exactly");
        }
        let kinds = |i: usize| -> Vec<(String, String)> {
            tokens[i]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| !t[0].is_null())
                .map(|t| (t[0].as_str().unwrap().to_owned(), t[1].as_str().unwrap().to_owned()))
                .collect()
        };
        let has = |i: usize, kind: &str, text: &str| kinds(i).contains(&(kind.to_owned(), text.to_owned()));
        assert!(has(0, "decorator", "@cache"));
        assert!(has(0, "keyword", "def") && has(0, "defname", "f"));
        assert!(has(0, "string", "f\"{x}\"") && has(0, "string", "'a#b'"), "{:?}", kinds(0));
        assert!(has(0, "comment", "# note"), "a # inside a string is not a comment");
        assert!(has(1, "string", "`a${1}`") && has(1, "comment", "/* c */") && has(1, "comment", "// end"));
        assert!(has(1, "keyword", "function") && has(1, "defname", "g") && has(1, "number", "0x1F"));
        assert!(has(2, "string", "'''multi\nline'''") && has(2, "string", "r'\\d'") && has(2, "number", "1.5e3"));
        page.assert_clean("tokenizer").await;
        page
    })
    .await;
}

#[tokio::test]
async fn the_error_check_sees_uncaught_exceptions_console_errors_and_blocked_requests() {
    let base = &server().base;
    Page::with(base, |page| async move {
        page.open("/ui/runs").await;
        assert!(page.console_problems().await.is_empty());
        // The checks the other tests rely on must see each kind of problem.
        page.eval(
            "setTimeout(() => { throw new Error('boom-uncaught'); }, 0);",
            vec![],
        )
        .await;
        page.eval("console.error('boom-console');", vec![]).await;
        // The page's own policy refuses another host; the refusal is reported.
        page.eval_async("fetch('http://192.0.2.1/x').catch(() => done(null));", vec![])
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let problems = page.console_problems().await.join("\n");
        for expected in ["boom-uncaught", "boom-console", "Content Security Policy"] {
            assert!(
                problems.contains(expected),
                "`{expected}` not reported in:\n{problems}"
            );
        }
        page
    })
    .await;
}

#[tokio::test]
async fn a_refused_request_asks_for_an_api_key_and_every_later_request_carries_it() {
    let base = &server().base;
    Page::with(base, |page| async move {
        page.open("/ui/runs").await;
        // The server of this branch needs no key: the page's fetch is wrapped to record the
        // headers sent and to refuse the first request the way an API-key server does.
        page.eval(
            "sessionStorage.removeItem('verdict.apiKey'); window.calls = []; const real = window.fetch; \
             let refused = false; window.fetch = (url, init) => { \
               window.calls.push({ url: String(url), auth: init?.headers?.Authorization ?? null }); \
               if (!refused) { refused = true; return Promise.resolve(new Response( \
                 JSON.stringify({ error: { code: 'unauthorized', message: 'an API key is required' } }), \
                 { status: 401, headers: { 'content-type': 'application/json' } })); } \
               return real(url, init); };",
            vec![],
        )
        .await;
        page.find("header nav a[data-view=submissions]")
            .await
            .click()
            .await
            .unwrap();
        page.wait_for("dialog#auth[open]").await;
        assert!(page.text("#auth-reason").await.contains("an API key is required"));
        page.find("#auth-key").await.send_keys("sekret").await.unwrap();
        page.find("#auth-form button[value=ok]")
            .await
            .click()
            .await
            .unwrap();
        page.wait_ready().await;
        assert!(
            !page.find_all("#submissions-table tbody tr").await.is_empty(),
            "the retry got the rows"
        );

        // And on to a submission: every data request after the prompt carries the key.
        page.find("#submissions-table tbody tr a")
            .await
            .click()
            .await
            .unwrap();
        page.wait_ready().await;
        let calls = page.eval("return window.calls;", vec![]).await;
        let calls = calls.as_array().unwrap();
        assert!(calls.len() >= 3, "{calls:?}");
        assert_eq!(calls[0]["auth"], Value::Null, "no key before one was given");
        assert_eq!(calls[0]["url"], calls[1]["url"], "the refused request is retried");
        for call in &calls[1..] {
            assert_eq!(call["auth"], "Bearer sekret", "{call}");
        }
        let stored = page
            .eval("return sessionStorage.getItem('verdict.apiKey');", vec![])
            .await;
        assert_eq!(stored, "sekret");
        page.eval("sessionStorage.removeItem('verdict.apiKey');", vec![])
            .await;
        page.assert_clean("api key").await;
        page
    })
    .await;
}

/// The newest submission matching `query`, read through the API.
async fn first_id(base: &str, query: &str) -> String {
    let page: Value = reqwest::get(format!("{base}/v1/submissions?{query}&limit=1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["submissions"][0]["submission_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no submission for {query}: {page}"))
        .to_owned()
}

/// Rewrites a stored verdict directly in the database.
async fn edit_verdict(database_url: &str, id: &str, verdict: &str, reward: f64) {
    use sqlx::Connection;
    let mut db = sqlx::SqliteConnection::connect(database_url).await.unwrap();
    sqlx::query("update submissions set verdict = $1, reward = $2 where submission_id = $3")
        .bind(verdict)
        .bind(reward)
        .bind(id)
        .execute(&mut db)
        .await
        .unwrap();
}
