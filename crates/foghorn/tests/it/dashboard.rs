//! The dashboard and the preference centre over plain HTTP, on both
//! backends: what a page needs (a session, its form token, the right
//! tenant and scope), that its numbers are the API's, and that a person's
//! choice made through `/p/{token}` is recorded and obeyed.

use crate::common::*;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
/// http, so the session cookie is not `Secure` and a plain client keeps it.
pub const PUBLIC_URL: &str = "http://foghorn.example";

/// A signed-in dashboard client: its session cookie and form token.
pub struct Ui {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form token");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// The sign-in form's answer to `key`: (status, Set-Cookie of the session).
pub async fn try_sign_in(base: &str, key: &str) -> (u16, Option<String>) {
    let http = no_redirects();
    let res = http.get(format!("{base}/ui/login")).send().await.unwrap();
    let login = cookie_value(&set_cookie(&res, "foghorn_login").expect("a login cookie"));
    let token = csrf_of(&res.text().await.unwrap());
    let res = http
        .post(format!("{base}/ui/login"))
        .header("cookie", login)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}&key={}", enc(&token), enc(key)))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), set_cookie(&res, "foghorn_session"))
}

impl Ui {
    pub async fn sign_in(base: &str, key: &str) -> Ui {
        let (status, session) = try_sign_in(base, key).await;
        assert_eq!(status, 303, "sign-in");
        let cookie = cookie_value(&session.expect("a session cookie"));
        let mut ui = Ui {
            http: no_redirects(),
            base: base.to_string(),
            cookie,
            csrf: String::new(),
        };
        let (s, html) = ui.get("/ui/").await;
        assert_eq!(s, 200, "{html}");
        ui.csrf = csrf_of(&html);
        ui
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// A form post; `csrf` is added unless the body already has one or
    /// `with_token` is false.
    pub async fn post(&self, path: &str, body: &str, with_token: bool) -> (u16, String, String) {
        let body = if with_token {
            format!("csrf={}&{body}", enc(&self.csrf))
        } else {
            body.to_string()
        };
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let location = res
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (res.status().as_u16(), location, res.text().await.unwrap())
    }
}

/// The number in the element with this id (`<div class="n" id="total">7</div>`).
pub fn number(html: &str, id: &str) -> i64 {
    let at = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &html[at + id.len() + 6..];
    let rest = rest.trim_start_matches(|c: char| !c.is_ascii_digit());
    rest.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("#{id} holds no number"))
}

/// A server whose `hook.fail` webhook goes to `sink` (which fails when
/// told to), with the pack's email workflows on the sandbox.
pub async fn start(env: &Env, sink: &Sink, extra: &[(&str, &str)]) -> Server {
    webhook_provider(env, "");
    hook_workflow(env, "hook.fail", &sink.url);
    let mut all = vec![
        ("FOGHORN_PUBLIC_URL", PUBLIC_URL),
        ("FOGHORN_DEV__CLOCK", "true"),
        ("EMAIL_FROM", "NaviDocs <alerts@navidocs.example>"),
        TENANTS_MAY_USE_LOOPBACK,
        ("FOGHORN_SECURITY__ALLOW_PRIVATE_TARGETS", "true"),
    ];
    all.extend_from_slice(extra);
    Server::start(env, "all", &all).await
}

/// A running server with the owner stored, its sink and an admin key.
pub struct Scene {
    pub sink: Sink,
    pub admin: String,
    pub server: Server,
    pub api: Api,
}

pub async fn scene(env: &Env) -> Scene {
    let sink = Sink::start().await;
    let admin = env.key("admin").await;
    let server = start(env, &sink, &[]).await;
    let api = Api::new(&server.base, &admin);
    owner(&api).await;
    Scene {
        sink,
        admin,
        server,
        api,
    }
}

/// A dead notification: the sink refuses every attempt.
pub async fn dead_one(api: &Api, sink: &Sink) -> String {
    sink.set_status(500);
    let (id, _) = send(
        api,
        json!({"name": "hook.fail", "to": ["owner-1"], "data": {}}),
    )
    .await;
    wait_status(api, &id, "dead").await;
    id
}

pub async fn owner(api: &Api) {
    let (s, v) = api
        .put(
            "/v1/preferences/categories",
            json!({"categories": {
                "warranty": {"label": "Warranty reminders"},
                "offers": {"label": "News and offers", "default": false, "marketing": true},
            }}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    put_subscriber(
        api,
        "owner-1",
        json!({"email": "ana.owner@example.com", "phone": "+33612345678", "locale": "fr-FR", "name": "Ana"}),
    )
    .await;
}

/// The preference-centre link of the email of notification `id`, on this
/// server (the public URL stands for a proxy in front of it).
pub async fn preferences_link(api: &Api, id: &str) -> String {
    let start = std::time::Instant::now();
    loop {
        let found = inbox(api)
            .await
            .into_iter()
            .find(|m| m["notification_id"] == id);
        if let Some(m) = found {
            let text = m["content"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            // The footer has the unsubscribe page and the preference centre.
            let link = text
                .match_indices(&format!("{PUBLIC_URL}/p/"))
                .map(|(at, _)| {
                    text[at + PUBLIC_URL.len()..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect::<String>()
                })
                .find(|l| !l.ends_with("/unsubscribe"))
                .unwrap_or_else(|| panic!("a preferences link in {text}"));
            return format!("{}{link}", api.base);
        }
        assert!(start.elapsed() < WAIT, "no email for {id}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts `warranty.expiring` for the owner: (status, the answer).
pub async fn warranty(api: &Api, days_left: u32) -> (u16, Value) {
    api.post(
        "/v1/events",
        json!({"name": "warranty.expiring", "to": ["owner-1"], "data": {"days_left": days_left}}),
    )
    .await
}

/// The email notification of an event's answer.
pub fn email_of(v: &Value) -> String {
    v["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["channel"] == "email")
        .expect("an email notification")["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_need_a_session_forms_their_token_and_ids_their_tenant() {
    for env in envs().await {
        let b = env.backend();
        let Scene {
            sink,
            admin,
            server,
            api,
        } = scene(&env).await;
        let read = env.key("read").await;
        let events_only = env.key("events:write").await;
        let operator = env.key("operator").await;
        let (_other_tenant, other_key) = tenant_with_key(&env, "Other Marine").await;
        let dead = dead_one(&api, &sink).await;
        let http = no_redirects();

        // No session: pages send the browser to sign in; forms are refused.
        for page in [
            "/ui/",
            "/ui/notifications",
            &format!("/ui/notifications/{dead}"),
            "/ui/dlq",
            "/ui/audit",
        ] {
            let res = http
                .get(format!("{}{page}", server.base))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 303, "{b}: {page}");
            assert_eq!(res.headers()["location"], "/ui/login", "{b}: {page}");
        }
        let res = http
            .post(format!("{}/ui/dlq/replay", server.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("id={dead}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{b}");
        // A forged cookie is no session either.
        let res = http
            .get(format!("{}/ui/", server.base))
            .header("cookie", "foghorn_session=forged")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{b}");

        // Sign-in: the login form's own token, a valid key, a key that may look.
        let res = http
            .post(format!("{}/ui/login", server.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("key={}", enc(&admin)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{b}: sign-in without the form's token");
        assert_eq!(
            try_sign_in(&server.base, "fh_not_a_key").await,
            (401, None),
            "{b}"
        );
        assert_eq!(
            try_sign_in(&server.base, &events_only).await,
            (401, None),
            "{b}"
        );
        let (s, cookie) = try_sign_in(&server.base, &admin).await;
        assert_eq!(s, 303, "{b}");
        let cookie = cookie.unwrap();
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
            assert!(cookie.contains(flag), "{b}: {cookie}");
        }
        assert!(!cookie.contains(&admin), "{b}: the key is not the cookie");

        // A form without its token, or with another's, changes nothing.
        let ui = Ui::sign_in(&server.base, &admin).await;
        let (s, _, _) = ui
            .post("/ui/dlq/replay", &format!("id={dead}"), false)
            .await;
        assert_eq!(s, 403, "{b}");
        let (s, _, _) = ui
            .post(
                "/ui/dlq/replay",
                &format!("csrf=not-the-token&id={dead}"),
                false,
            )
            .await;
        assert_eq!(s, 403, "{b}");
        assert_eq!(notification(&api, &dead).await["status"], "dead", "{b}");

        // The event's proof of notice, linked from its notification.
        let event = notification(&api, &dead).await["event_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, page) = ui.get(&format!("/ui/notifications/{dead}")).await;
        let link = format!("/ui/events/{event}/proof");
        assert!(s == 200 && page.contains(&link), "{b}: {page}");
        let (s, proof) = ui.get(&link).await;
        assert!(
            s == 200 && proof.contains("Proof of notice") && proof.contains(&event),
            "{b}: {s} {proof}"
        );
        // A filter the page cannot read is its HTML refusal, as on every page.
        let (s, _) = ui.get(&format!("{link}?format=docx")).await;
        assert_eq!(s, 400, "{b}");
        let res = http
            .get(format!("{}{link}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{b}: a proof needs a session");

        // Another tenant's session: the notification is not there to see or replay.
        let other = Ui::sign_in(&server.base, &other_key).await;
        let (s, _) = other.get(&format!("/ui/notifications/{dead}")).await;
        assert_eq!(s, 404, "{b}");
        let (s, _) = other.get(&link).await;
        assert_eq!(s, 404, "{b}: nor its proof");
        let (s, _, _) = other
            .post("/ui/dlq/replay", &format!("id={dead}"), true)
            .await;
        assert_eq!(s, 404, "{b}");
        let (_, list) = other.get("/ui/notifications").await;
        assert!(!list.contains(&dead), "{b}");
        assert_eq!(notification(&api, &dead).await["status"], "dead", "{b}");

        // A read key sees the dead letter but may not replay it.
        let reader = Ui::sign_in(&server.base, &read).await;
        let (s, page) = reader.get("/ui/dlq").await;
        assert_eq!(s, 200, "{b}");
        assert!(
            page.contains(&dead) && !page.contains("type=\"checkbox\""),
            "{b}"
        );
        let (s, _, _) = reader
            .post("/ui/dlq/replay", &format!("id={dead}"), true)
            .await;
        assert_eq!(s, 403, "{b}");

        // List pages name people by id only; the person's page (read
        // scope, like the API) shows the address.
        assert_eq!(warranty(&api, 30).await.0, 202, "{b}");
        api.wait_for_channel_status("email", "sent", 1, WAIT).await;
        let pages = [
            (&reader, "/ui/"),
            (&reader, "/ui/notifications"),
            (&reader, "/ui/dlq"),
            (&reader, "/ui/costs"),
            (&ui, "/ui/audit"),
            (&ui, "/ui/providers"),
        ];
        for (who, page) in pages {
            let (s, html) = who.get(page).await;
            assert_eq!(s, 200, "{b}: {page}");
            for personal in ["ana.owner@example.com", "+33612345678", "33612345678"] {
                assert!(!html.contains(personal), "{b}: {page} shows {personal}");
            }
        }
        let (s, html) = reader.get("/ui/subscribers?id=owner-1").await;
        assert_eq!(s, 200, "{b}");
        assert!(html.contains("ana.owner@example.com"), "{b}");
        // Only an admin key reads the audit log, as in the API.
        let (s, _) = reader.get("/ui/audit").await;
        assert_eq!(s, 403, "{b}");

        // Without JavaScript the preview is the form's POST, token first.
        let form = "locale=fr&data=&recipient=";
        let (s, _, _) = reader
            .post("/ui/workflows/warranty.expiring", form, false)
            .await;
        assert_eq!(s, 403, "{b}");
        let (s, _, html) = reader
            .post("/ui/workflows/warranty.expiring", form, true)
            .await;
        assert_eq!(s, 200, "{b}");
        assert!(html.contains("As it would be sent (fr)"), "{b}");
        let (s, _, html) = reader
            .post("/ui/workflows/warranty.expiring", "data=%7Bnot+json", true)
            .await;
        assert_eq!(s, 422, "{b}");
        assert!(html.contains("`data` is not JSON"), "{b}");

        // The operator key sees tenants, not their data.
        let op = Ui::sign_in(&server.base, &operator).await;
        let (s, html) = op.get("/ui/").await;
        assert_eq!(s, 200, "{b}");
        assert!(html.contains("Other Marine"), "{b}");
        for page in [
            "/ui/notifications",
            "/ui/dlq",
            "/ui/sandbox",
            "/ui/subscribers?id=owner-1",
        ] {
            let (s, _) = op.get(page).await;
            assert_eq!(s, 403, "{b}: {page}");
        }

        // With the token, the replay goes through the API's replay.
        sink.set_status(204);
        let (s, location, _) = ui.post("/ui/dlq/replay", &format!("id={dead}"), true).await;
        assert_eq!((s, location.as_str()), (303, "/ui/dlq?replayed=1"), "{b}");
        wait_status(&api, &dead, "sent").await;
        let (_, audit) = api.get("/v1/audit").await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap())
            .collect();
        assert!(
            actions.contains(&"dlq.replay") && actions.contains(&"ui.sign_in"),
            "{b}: {actions:?}"
        );
        assert_eq!(audit["chain"]["ok"], true, "{b}");

        // Signing out ends the session.
        let (s, location, _) = ui.post("/ui/logout", "", true).await;
        assert_eq!((s, location.as_str()), (303, "/ui/login"), "{b}");
        let (s, _) = ui.get("/ui/notifications").await;
        assert_eq!(s, 303, "{b}: the session is gone");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_overview_shows_the_apis_numbers() {
    for env in envs().await {
        let b = env.backend();
        let Scene {
            sink,
            admin,
            server,
            api,
        } = scene(&env).await;
        dead_one(&api, &sink).await;
        sink.set_status(204);
        for _ in 0..3 {
            send(
                &api,
                json!({"name": "hook.fail", "to": ["owner-1"], "data": {}}),
            )
            .await;
        }
        // One suppressed: the owner gave up email.
        let (s, _) = api
            .put(
                "/v1/subscribers/owner-1/preferences",
                json!({"channels": {"email": false}}),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(warranty(&api, 30).await.0, 202, "{b}");
        api.wait_for_channel_status("webhook", "sent", 3, WAIT)
            .await;
        api.wait_for_channel_status("email", "suppressed", 1, WAIT)
            .await;
        settled(&api).await;

        let ui = Ui::sign_in(&server.base, &admin).await;
        for window in ["hour", "day", "30d"] {
            let (s, o) = api
                .get(&format!("/v1/reports/overview?window={window}"))
                .await;
            assert_eq!(s, 200, "{b}: {o}");
            let (s, html) = ui.get(&format!("/ui/?window={window}")).await;
            assert_eq!(s, 200, "{b}");
            for (id, key) in [
                ("total", &o["totals"]["total"]),
                ("sent", &o["totals"]["sent"]),
                ("delivered", &o["totals"]["delivered"]),
                ("failed", &o["totals"]["failed"]),
                ("suppressed", &o["totals"]["suppressed"]),
                ("dead", &o["totals"]["dead"]),
                ("queue", &o["queue_depth"]),
                ("dlq", &o["dlq"]),
                ("breakers", &o["open_breakers"]),
            ] {
                assert_eq!(
                    number(&html, id),
                    key.as_i64().unwrap(),
                    "{b}: {window} #{id}"
                );
            }
            // The API's own figures agree with its notification list.
            let all = api.all_notifications("").await;
            assert_eq!(
                o["totals"]["total"].as_u64().unwrap() as usize,
                all.len(),
                "{b}"
            );
            let count = |s: &str| all.iter().filter(|n| n["status"] == s).count() as i64;
            assert_eq!(o["totals"]["dead"].as_i64(), Some(count("dead")), "{b}");
            assert_eq!(
                o["totals"]["suppressed"].as_i64(),
                Some(count("suppressed")),
                "{b}"
            );
            assert_eq!(o["dlq"].as_i64(), Some(count("dead")), "{b}");
            let webhook = o["groups"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["channel"] == "webhook")
                .unwrap();
            assert_eq!(
                (webhook["sent"].as_i64(), webhook["dead"].as_i64()),
                (Some(3), Some(1)),
                "{b}: {webhook}"
            );
            assert_eq!(webhook["delivery_rate"].as_f64(), Some(0.75), "{b}");
            assert!(
                o["time_to_provider"]["p50_ms"].as_i64().is_some(),
                "{b}: {o}"
            );
        }
        // Nothing older than the window counts.
        let (s, _) = ops_clock(&env, &server, 2 * 3_600_000).await;
        assert_eq!(s, 200);
        let (_, o) = api.get("/v1/reports/overview?window=hour").await;
        assert_eq!(o["totals"]["total"], 0, "{b}: {o}");
        let (_, o) = api.get("/v1/reports/overview?window=day").await;
        assert!(o["totals"]["total"].as_i64().unwrap() >= 6, "{b}: {o}");
        // A window the report does not offer is a 422 naming it; the page says so.
        let (s, p) = api.get("/v1/reports/overview?window=week").await;
        assert_eq!((s, p["field"].as_str()), (422, Some("window")), "{b}: {p}");
        let (s, _) = ui.get("/ui/?window=week").await;
        assert_eq!(s, 422, "{b}");
        server.stop().await;
    }
}

/// Waits until no notification is still on its way, so that counts hold.
async fn settled(api: &Api) {
    let start = std::time::Instant::now();
    loop {
        let all = api.all_notifications("").await;
        let moving: Vec<&Value> = all
            .iter()
            .filter(|n| {
                ["scheduled", "queued", "sending"].contains(&n["status"].as_str().unwrap_or(""))
            })
            .collect();
        if moving.is_empty() {
            return;
        }
        assert!(start.elapsed() < WAIT, "still moving: {moving:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ops_clock(env: &Env, server: &Server, ms: i64) -> (u16, Value) {
    let operator = env.key("operator").await;
    Api::new(&server.base, &operator)
        .post("/v1/admin/clock", json!({"advance_ms": ms}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_owners_choice_in_the_preference_centre_is_recorded_and_obeyed() {
    for env in envs().await {
        let b = env.backend();
        let Scene { server, api, .. } = scene(&env).await;
        let (s, v) = warranty(&api, 30).await;
        assert_eq!(s, 202, "{v}");
        let link = preferences_link(&api, &email_of(&v)).await;
        let http = no_redirects();

        // The page, in the owner's language, with the current choices.
        let res = http.get(&link).send().await.unwrap();
        assert_eq!(res.status(), 200, "{b}");
        let html = res.text().await.unwrap();
        assert!(html.contains("<html lang=\"fr\">"), "{b}");
        assert!(html.contains("Vos préférences de notification"), "{b}");
        assert!(
            html.contains("rappels de sécurité"),
            "{b}: the critical notice is explained"
        );
        assert!(html.contains("Warranty reminders"), "{b}");
        assert!(
            html.contains("id=\"channel-email\" name=\"channel:email\" checked"),
            "{b}"
        );

        // Untick the warranty emails, keep the rest.
        let form = "channel:email=on&channel:sms=on&channel:voice=on&channel:whatsapp=on\
                    &topic:warranty:sms=on&topic:warranty:voice=on&topic:warranty:whatsapp=on&save=1";
        let res = http
            .post(&link)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.replace(':', "%3A"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{b}");
        let back = res.headers()["location"].to_str().unwrap().to_string();
        assert!(back.ends_with("?saved=1"), "{b}: {back}");
        let html = http
            .get(format!("{}{back}", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("Vos choix sont enregistrés"), "{b}");
        assert!(
            !html.contains(
                "name=\"topic:warranty:email\" aria-label=\"Warranty reminders: E-mail\" checked"
            ),
            "{b}"
        );

        // The ledger says what, when and from where; the audit names the page.
        let (_, c) = api.get("/v1/subscribers/owner-1/consents").await;
        let items = c["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{b}: only the changed choice: {c}");
        assert_eq!(
            (
                items[0]["channel"].as_str(),
                items[0]["action"].as_str(),
                items[0]["category"].as_str(),
                items[0]["source"].as_str()
            ),
            (
                Some("email"),
                Some("opt_out"),
                Some("warranty"),
                Some("preference-centre")
            ),
            "{b}: {c}"
        );
        let (_, audit) = api.get("/v1/audit").await;
        assert!(
            audit["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["action"] == "subscriber.preferences"
                    && a["actor"] == "recipient:preference-centre"),
            "{b}: {audit}"
        );

        // The next warranty email is suppressed; its SMS still goes.
        let (_, v) = warranty(&api, 7).await;
        let n = wait_status(&api, &email_of(&v), "suppressed").await;
        assert_eq!(n["status_reason"], "unsubscribed", "{b}: {n}");

        // Unsubscribe from everything: every channel off, in one click.
        let res = http
            .post(&link)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("everything=1")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{b}");
        let (_, p) = api.get("/v1/subscribers/owner-1/preferences").await;
        for c in ["email", "sms", "voice", "whatsapp"] {
            assert_eq!(p["channels"][c], false, "{b}: {p}");
        }

        // A tampered token or an expired one changes nothing.
        let tampered = {
            let mut t = link.clone();
            let last = t.pop().unwrap();
            t.push(if last == 'A' { 'B' } else { 'A' });
            t
        };
        for (url, status) in [
            (tampered.clone(), 400),
            (format!("{}/p/not-a-token", server.base), 400),
        ] {
            let res = http.get(&url).send().await.unwrap();
            assert_eq!(res.status(), status, "{b}: {url}");
            let res = http
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("channel:email=on")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), status, "{b}");
        }
        let (s, _) = ops_clock(&env, &server, 400 * 86_400_000).await;
        assert_eq!(s, 200);
        let res = http.get(&link).send().await.unwrap();
        assert_eq!(res.status(), 410, "{b}");
        let res = http
            .post(&link)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("channel%3Aemail=on&channel%3Asms=on")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 410, "{b}");
        let (_, p) = api.get("/v1/subscribers/owner-1/preferences").await;
        assert_eq!(
            p["channels"]["email"], false,
            "{b}: the expired link changed nothing"
        );
        server.stop().await;
    }
}

/// "Send a test message" goes straight to the named provider, answers with
/// the provider's own answer, is audited, and makes no notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_test_message_goes_straight_to_the_provider_and_reports_its_answer() {
    use crate::mock_providers::{provider_table, Kind, MockProvider};
    for env in envs().await {
        let b = env.backend();
        let mock = MockProvider::start(Kind::Twilio).await;
        env.write(
            "foghorn.toml",
            &format!(
                "{}[channels.sms]\nproviders = [\"twilio\"]\n",
                provider_table(Kind::Twilio, &mock.url)
            ),
        );
        let admin = env.key("admin").await;
        let read = env.key("read").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &admin);
        let body = json!({"channel": "sms", "to": "+12025550142"});
        let (s, r) = api.post("/v1/providers/twilio/test", body.clone()).await;
        assert_eq!(s, 200, "{b}: {r}");
        assert_eq!(r["accepted"], true, "{b}: {r}");
        assert!(
            r["provider_message_id"].as_str().unwrap().starts_with("SM"),
            "{b}: {r}"
        );
        let sent = mock.wait_accepted(1, WAIT).await;
        let form = sent[0].form();
        let field = |k: &str| {
            form.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(field("To"), "+12025550142", "{b}");
        assert!(
            field("Body").starts_with("Foghorn test message through twilio"),
            "{b}: {form:?}"
        );

        // What the provider cannot send, where it cannot send, who may not.
        for (body, status, field_name) in [
            (
                json!({"channel": "email", "to": "a@example.com"}),
                422,
                "channel",
            ),
            (json!({"channel": "sms", "to": "not a number"}), 422, "to"),
        ] {
            let (s, p) = api.post("/v1/providers/twilio/test", body).await;
            assert_eq!(
                (s, p["field"].as_str()),
                (status, Some(field_name)),
                "{b}: {p}"
            );
        }
        let (s, _) = api.post("/v1/providers/nope/test", body.clone()).await;
        assert_eq!(s, 404, "{b}");
        let (s, _) = Api::new(&server.base, &read)
            .post("/v1/providers/twilio/test", body.clone())
            .await;
        assert_eq!(s, 403, "{b}");
        assert_eq!(mock.received().len(), 1, "{b}: nothing else went out");

        // The dashboard's form: its token first, then the provider's answer.
        let ui = Ui::sign_in(&server.base, &admin).await;
        let (s, _, _) = ui
            .post(
                "/ui/providers/twilio/test",
                "channel=sms&to=%2B12025550142",
                false,
            )
            .await;
        assert_eq!(s, 403, "{b}");
        let (s, _, page) = ui
            .post(
                "/ui/providers/twilio/test",
                "channel=sms&to=%2B12025550142",
                true,
            )
            .await;
        assert_eq!(s, 200, "{b}: {page}");
        assert!(page.contains("twilio accepted the test sms"), "{b}: {page}");
        mock.wait_accepted(2, WAIT).await;
        let (_, list) = api.get("/v1/notifications").await;
        assert!(
            list["items"].as_array().unwrap().is_empty(),
            "{b}: a test is no notification"
        );
        let (_, audit) = api.get("/v1/audit").await;
        let tests = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "provider.test")
            .count();
        assert_eq!(tests, 2, "{b}: {audit}");
        server.stop().await;
    }
}
