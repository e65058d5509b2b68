//! The dashboard and the preference centre in a real headless Chromium,
//! driven over WebDriver: a person signs in with the form, reads the
//! overview (its numbers are the API's), opens a dead notification and
//! replays it, previews a workflow in French, and an owner unticks a
//! channel on their preference page by keyboard alone (Tab, Space, Enter),
//! after which the next send is suppressed. Every page is screenshotted
//! (PNG, under the target directory's `screenshots/`) and checked with
//! axe-core for WCAG 2 A and AA violations.

use crate::common::*;
use crate::dashboard::{dead_one, email_of, preferences_link, scene, warranty, Scene};
use crate::webdriver::{describe, Browser, ENTER, SPACE, TAB};
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// Screenshots the page and fails on any accessibility violation.
async fn look(browser: &Browser, name: &str) {
    let path = browser.screenshot(name).await;
    assert!(path.exists(), "{name}: no screenshot");
    let violations = browser.axe().await;
    assert!(
        violations.is_empty(),
        "{name} ({}): {}",
        browser.url().await,
        describe(&violations)
    );
}

async fn wait_for_text(browser: &Browser, css: &str, text: &str) {
    let start = std::time::Instant::now();
    loop {
        // Read in one script: the live preview replaces its element, and a
        // reference found first could be stale by the time it is read.
        let shown = browser
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
                vec![json!(css)],
            )
            .await;
        if shown.as_str().is_some_and(|t| t.contains(text)) {
            return;
        }
        if start.elapsed() > WAIT {
            let shot = browser.screenshot("failed").await;
            panic!(
                "no `{text}` in {css} at {}; see {}",
                browser.url().await,
                shot.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the navigation a click started.
async fn wait_for_url(browser: &Browser, part: &str) {
    let start = std::time::Instant::now();
    loop {
        let url = browser.url().await;
        if url.contains(part) {
            return;
        }
        if start.elapsed() > WAIT {
            let shot = browser.screenshot("failed").await;
            panic!("never reached `{part}` (at {url}); see {}", shot.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_person_signs_in_reads_replays_previews_and_an_owner_chooses() {
    let env = envs().await.remove(0);
    let Scene {
        sink,
        admin,
        server,
        api,
    } = scene(&env).await;
    let operator = env.key("operator").await;
    let base = server.base.clone();
    let dead = dead_one(&api, &sink).await;
    sink.set_status(204);
    let (_, v) = warranty(&api, 30).await;
    let email = email_of(&v);
    wait_status(&api, &email, "sent").await;
    let browser = Browser::start().await;

    // Sign in with the form.
    browser.goto(&format!("{base}/ui/")).await;
    assert!(
        browser.url().await.ends_with("/ui/login"),
        "no session, no page"
    );
    look(&browser, "01-login").await;
    browser.find("#key").await.send_keys(&admin).await;
    browser.find("button[type=submit]").await.click().await;
    wait_for_url(&browser, "/ui/").await;
    assert!(browser.url().await.ends_with("/ui/"));

    // The overview says what the API says.
    let (_, o) = api.get("/v1/reports/overview?window=day").await;
    for (id, value) in [
        ("total", &o["totals"]["total"]),
        ("sent", &o["totals"]["sent"]),
        ("dead", &o["totals"]["dead"]),
        ("dlq", &o["dlq"]),
    ] {
        let shown = browser.find(&format!("#{id}")).await.text().await;
        assert_eq!(shown.trim(), value.to_string(), "#{id}");
    }
    look(&browser, "02-overview").await;

    // The list, filtered to the dead; open the one that failed; replay it.
    browser.goto(&format!("{base}/ui/notifications")).await;
    look(&browser, "03-notifications").await;
    let status = browser.find("#f-status").await;
    status.send_keys("dead").await;
    browser.find("form.filters button").await.click().await;
    wait_for_url(&browser, "status=dead").await;
    browser
        .find(&format!("a[href='/ui/notifications/{dead}']"))
        .await
        .click()
        .await;
    wait_for_text(&browser, "h1", &dead).await;
    let attempts = browser.find(".timeline").await.text().await;
    assert!(attempts.contains("HTTP 500"), "{attempts}");
    look(&browser, "04-notification-dead").await;
    // Its event's proof of notice, from the link on the page.
    browser.find("a[href$='/proof']").await.click().await;
    wait_for_text(&browser, "h1", "Proof of notice").await;
    // The owner's warranty email: a proof with one owner reached.
    let warranty_event = v["event_id"].as_str().unwrap();
    browser
        .goto(&format!("{base}/ui/events/{warranty_event}/proof"))
        .await;
    wait_for_text(&browser, "h1", warranty_event).await;
    let page = browser.find("body").await.text().await;
    assert!(page.contains("owner-1"), "{page}");
    look(&browser, "04b-proof-of-notice").await;
    // Replayed from the dead-letter queue's page: tick it, replay.
    browser.goto(&format!("{base}/ui/dlq")).await;
    look(&browser, "05-dlq").await;
    browser.find(&format!("#pick-{dead}")).await.click().await;
    browser
        .find("form[action='/ui/dlq/replay'] button[type=submit]")
        .await
        .click()
        .await;
    wait_for_url(&browser, "/ui/dlq?replayed=1").await;
    wait_status(&api, &dead, "sent").await;
    look(&browser, "05-dlq-replayed").await;

    // A workflow, previewed in French.
    browser.goto(&format!("{base}/ui/workflows")).await;
    look(&browser, "06-workflows").await;
    browser
        .find("a[href='/ui/workflows/warranty.expiring']")
        .await
        .click()
        .await;
    wait_for_url(&browser, "/ui/workflows/warranty.expiring").await;
    // The preview follows the form as it is typed in: no button pressed.
    browser.find("#p-locale").await.send_keys("fr").await;
    wait_for_text(&browser, "#preview", "(fr)").await;
    assert!(browser
        .url()
        .await
        .ends_with("/ui/workflows/warranty.expiring"));
    browser
        .execute(
            "document.querySelector('#preview').scrollIntoView();",
            vec![],
        )
        .await;
    look(&browser, "07-workflow-preview").await;

    // The other pages, each as a person sees it.
    for (path, name) in [
        ("/ui/providers", "08-providers"),
        ("/ui/subscribers?id=owner-1", "09-subscriber"),
        ("/ui/sandbox", "10-sandbox"),
        ("/ui/costs", "11-costs"),
        ("/ui/audit", "12-audit"),
    ] {
        browser.goto(&format!("{base}{path}")).await;
        look(&browser, name).await;
    }
    let chain = browser.find("#chain").await.text().await;
    assert!(chain.contains("verifies"), "{chain}");

    // The owner, from the email's footer, gives up email entirely.
    let link = preferences_link(&api, &email).await;
    browser.goto(&link).await;
    look(&browser, "13-preferences").await;
    let critical = browser.find("#critical").await.text().await;
    assert!(critical.contains("rappels de sécurité"), "{critical}");
    let email_box = browser.find("#channel-email").await;
    assert_eq!(email_box.property("checked").await, json!(true));
    // By keyboard alone: Tab to the email box, Space unticks it, Tab on
    // to the save button, Enter submits.
    browser.find("h1").await.click().await;
    let mut order = Vec::new();
    for _ in 0..40 {
        browser.press(TAB).await;
        let id = browser.active().await.attr("id").await.unwrap_or_default();
        let name = browser
            .active()
            .await
            .attr("name")
            .await
            .unwrap_or_default();
        order.push(if id.is_empty() { name } else { id });
        if order.last().is_some_and(|k| k == "channel-email") {
            break;
        }
    }
    assert_eq!(
        order.last().map(String::as_str),
        Some("channel-email"),
        "Tab order: {order:?}"
    );
    browser.press(SPACE).await;
    assert_eq!(
        email_box.property("checked").await,
        json!(false),
        "Space unticks"
    );
    let mut reached_save = false;
    for _ in 0..40 {
        browser.press(TAB).await;
        if browser.active().await.attr("name").await.as_deref() == Some("save") {
            reached_save = true;
            break;
        }
    }
    assert!(reached_save, "Tab reaches the save button");
    browser.press(ENTER).await;
    wait_for_text(&browser, "#notice", "enregistrés").await;
    assert_eq!(
        browser
            .find("#channel-email")
            .await
            .property("checked")
            .await,
        json!(false)
    );
    look(&browser, "14-preferences-saved").await;
    let (_, v) = warranty(&api, 7).await;
    let n = wait_status(&api, &email_of(&v), "suppressed").await;
    assert_eq!(n["status_reason"], "unsubscribed", "{n}");

    // Signing out leaves no way back without the key.
    browser.goto(&format!("{base}/ui/")).await;
    browser.find(".signout button").await.click().await;
    wait_for_url(&browser, "/ui/login").await;
    browser.goto(&format!("{base}/ui/notifications")).await;
    assert!(browser.url().await.ends_with("/ui/login"));

    // An operator key signs in to the tenants, and no further.
    browser.find("#key").await.send_keys(&operator).await;
    browser.find("button[type=submit]").await.click().await;
    wait_for_text(&browser, "h1", "Tenants").await;
    look(&browser, "15-tenants").await;
    browser.goto(&format!("{base}/ui/sandbox")).await;
    wait_for_text(&browser, "[role=alert]", "lacks the `read` scope").await;
    look(&browser, "16-refused").await;
    server.stop().await;
}
