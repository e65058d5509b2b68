//! The command line: exit codes, key creation, migrate, send, demo.

use crate::common::*;

#[tokio::test]
async fn misuse_exits_2_and_help_is_everywhere() {
    let env = envs().await.remove(0);
    for args in [
        vec!["frobnicate"],
        vec!["keys", "create"],
        vec!["keys", "create", "--scope", "root"],
        vec!["serve", "--role", "boss"],
        vec!["dlq"],
    ] {
        let (code, _, err) = env.run(&args).await;
        assert_eq!(code, 2, "{args:?}: {err}");
    }
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["demo", "--help"],
        vec!["send", "--help"],
        vec!["keys", "create", "--help"],
        vec!["dlq", "list", "--help"],
        vec!["dlq", "replay", "--help"],
        vec!["bench", "--help"],
    ] {
        let (code, out, _) = env.run(&args).await;
        assert_eq!(code, 0, "{args:?}");
        assert!(out.contains("Usage"), "{args:?}: {out}");
    }
}

#[tokio::test]
async fn config_errors_name_the_key_and_exit_2() {
    let env = envs().await.remove(0);
    env.write(
        "foghorn.toml",
        "listen = \"127.0.0.1:1\"\n[delivery]\nworkers = \"many\"\n",
    );
    let (code, _, err) = env.run(&["migrate"]).await;
    assert_eq!(code, 2);
    assert!(
        err.contains("foghorn.toml:3") && err.contains("workers") || err.contains("foghorn.toml:3"),
        "{err}"
    );
    env.write("foghorn.toml", "");
    let (code, _, err) = env
        .command(&["migrate"])
        .env("FOGHORN_DELIVERY__MAX_ATTEMPTS", "lots")
        .output()
        .await
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                (),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, 2);
    assert!(err.contains("FOGHORN_DELIVERY__MAX_ATTEMPTS"), "{err}");
}

#[tokio::test]
async fn migrate_keys_and_send_work_from_the_shell() {
    for env in envs().await {
        let (code, out, err) = env.run(&["migrate"]).await;
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("schema"), "{out}");
        let (code, out, _) = env.run(&["migrate"]).await;
        assert_eq!(code, 0);
        assert!(out.contains("up to date"), "{out}");
        let key = env.key("events:write").await;
        assert!(
            key.starts_with("fh_") && key.len() == 35,
            "the key alone on the last line: {key}"
        );
        let (code, out, err) = env
            .run(&[
                "send",
                "document.uploaded",
                "--data",
                r#"{"boat":"B","title":"T"}"#,
                "--idempotency-key",
                "k1",
            ])
            .await;
        assert_eq!(code, 1, "no recipients is an error: {out} {err}");
        env.run(&[
            "send",
            "ocr.failed",
            "--data",
            r#"{"boat":"B"}"#,
            "--idempotency-key",
            "k2",
        ])
        .await;
        let (code, out, err) = env
            .run(&[
                "send",
                "ocr.failed",
                "--data",
                r#"{"boat":"B"}"#,
                "--idempotency-key",
                "k2",
            ])
            .await;
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("repeat"), "{err}");
        let v: serde_json::Value =
            serde_json::from_str(out.trim()).expect("send prints the answer as JSON");
        assert!(v["event_id"].as_str().unwrap().starts_with("evt_"));
        let (code, out, _) = env.run(&["dlq", "list"]).await;
        assert_eq!((code, out.trim()), (0, "the dead-letter queue is empty"));
        let (code, out, _) = env.run(&["dlq", "list", "--json"]).await;
        assert_eq!((code, out.trim()), (0, "[]"));
        let (code, _, err) = env.run(&["dlq", "replay", "ntf_nothing"]).await;
        assert_eq!(code, 1, "{err}");
    }
}

#[tokio::test]
async fn the_demo_runs_on_a_fresh_folder_and_shows_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(BIN)
        .args(["demo", "--exit", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("FOGHORN_DATABASE_URL")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("API key  fh_"), "{stdout}");
    assert!(stdout.contains("Sandbox inbox"), "{stdout}");
    assert!(stdout.contains("Engine Warranty"), "{stdout}");
    assert!(
        dir.path().join("foghorn.db").exists(),
        "the embedded default database"
    );

    // The dashboard link signs in once, on the demo's database.
    let link = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Dashboard  "))
        .and_then(|l| l.split_whitespace().next())
        .expect("a dashboard sign-in link");
    let path = &link[link.find("/ui/signin/").expect("the sign-in path")..];
    use tokio::io::AsyncBufReadExt;
    let mut server = tokio::process::Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("FOGHORN_DATABASE_URL")
        .env_remove("FOGHORN_CONFIG")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("serve printed its address");
        if let Some(rest) = line.strip_prefix("foghorn listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(res.status(), 303, "the link signs in");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("foghorn_session="), "{cookie}");
    let session = cookie.split(';').next().unwrap();
    let res = http
        .get(format!("{base}/ui/"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Overview"));
    let again = http.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(again.status(), 404, "the link works once");
    let _ = server.kill().await;
}

/// SQLite only, for what does not depend on the backend.
fn sqlite_env() -> Env {
    Env {
        db: foghorn_store::testing::TestDb::sqlite(),
        dir: tempfile::tempdir().unwrap(),
    }
}

/// `foghorn serve` in `dir` with `envs`, until it says where it listens.
async fn serve_until_listening(
    dir: &std::path::Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Result<String, String> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    let mut c = tokio::process::Command::new(BIN);
    c.arg("serve")
        .args(args)
        .current_dir(dir)
        .env_remove("FOGHORN_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in envs {
        c.env(k, v);
    }
    let mut child = c.spawn().expect("spawn foghorn serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let seen = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if let Some(rest) = l.strip_prefix("foghorn listening on ") {
                return Some(rest.to_string());
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    let _ = child.kill().await;
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err).await;
    }
    seen.ok_or(err)
}

#[tokio::test]
async fn environment_values_take_the_type_of_their_key() {
    let env = sqlite_env();
    let url = env.url().to_string();
    let base = [
        ("FOGHORN_DATABASE_URL", url.as_str()),
        ("FOGHORN_SMS__FROM", "+12025550142"),
        ("FOGHORN_DELIVERY__JITTER", "0.1"),
        ("FOGHORN_PROVIDERS__TWILIO__ACCOUNT_SID", "AC0123456789"),
        ("FOGHORN_PROVIDERS__TWILIO__AUTH_TOKEN", "123456"),
        ("FOGHORN_PROVIDERS__BANDWIDTH__ACCOUNT_ID", "9900000"),
        ("FOGHORN_PROVIDERS__BANDWIDTH__USERNAME", "api-user"),
        ("FOGHORN_PROVIDERS__BANDWIDTH__PASSWORD", "2024"),
        (
            "FOGHORN_PROVIDERS__BANDWIDTH__MESSAGING_APPLICATION_ID",
            "93de2206-9669-4e07-948d-329f4b722ee2",
        ),
    ];
    let seen = serve_until_listening(env.path(), &["--listen", "127.0.0.1:0"], &base).await;
    assert!(seen.is_ok(), "{seen:?}");
    // A bare port is that port on the default interface, 127.0.0.1.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut with_port = base.to_vec();
    with_port.push(("FOGHORN_LISTEN", &port));
    let seen = serve_until_listening(env.path(), &[], &with_port)
        .await
        .unwrap();
    assert!(
        seen.starts_with(&format!("http://127.0.0.1:{port} ")),
        "{seen}"
    );
}

#[tokio::test]
async fn a_bad_provider_config_exits_2_before_creating_anything() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("foghorn.toml"),
        "[providers.twilio]\naccount_sid = \"AC0123456789\"\n",
    )
    .unwrap();
    for args in [vec!["serve"], vec!["migrate"]] {
        let out = tokio::process::Command::new(BIN)
            .args(&args)
            .current_dir(dir.path())
            .env_remove("FOGHORN_DATABASE_URL")
            .env_remove("FOGHORN_MASTER_KEY")
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("providers.twilio"), "{err}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["foghorn.toml"], "no database or key file");
    }
}

#[tokio::test]
async fn a_lease_no_longer_than_the_send_timeout_exits_2() {
    let env = sqlite_env();
    // A server that starts instead of refusing is killed after the wait.
    let run = env
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .env("FOGHORN_DELIVERY__LEASE", "3s")
        .env("FOGHORN_DELIVERY__SEND_TIMEOUT", "5s")
        .output();
    let (code, _, err) = tokio::time::timeout(std::time::Duration::from_secs(20), run)
        .await
        .expect("serve refuses at once instead of starting")
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                (),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("delivery.lease") && err.contains("delivery.send_timeout"),
        "{err}"
    );
}

/// The count in "Sandbox inbox (N messages, …)".
fn inbox_count(stdout: &str) -> usize {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Sandbox inbox ("))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no inbox line in {stdout}"))
}

#[tokio::test]
async fn the_demo_counts_only_its_own_run_and_writes_plain_text_to_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let mut counts = Vec::new();
    let mut outputs = Vec::new();
    for _ in 0..2 {
        let out = tokio::process::Command::new(BIN)
            .args(["demo", "--exit", "--listen", "127.0.0.1:0"])
            .current_dir(dir.path())
            .env_remove("FOGHORN_DATABASE_URL")
            .env_remove("RUST_LOG")
            .output()
            .await
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(out.status.success(), "{stdout}\n{stderr}");
        for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
            assert!(
                !text.contains('\r'),
                "{name} has a carriage return: {text:?}"
            );
            assert!(
                !text.contains('\u{1b}'),
                "{name} has ANSI escapes: {text:?}"
            );
        }
        counts.push(inbox_count(&stdout));
        outputs.push(stdout);
    }
    assert!(counts[0] > 0, "{counts:?}");
    // Within the hour the second run's filing is the same alert again, so
    // it is suppressed as a duplicate: one message fewer, not the first
    // run's added.
    let upload = |out: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with("document.received"))
            .map(|l| l.split("-> ").nth(1).unwrap_or_default().to_string())
    };
    assert_eq!(upload(&outputs[0]).as_deref(), Some("email queued"));
    assert_eq!(upload(&outputs[1]).as_deref(), Some("email suppressed"));
    assert_eq!(
        counts[0] - 1,
        counts[1],
        "the second run counts only its own"
    );
}

#[tokio::test]
async fn keys_list_has_a_header_and_lists_operator_keys() {
    let env = sqlite_env();
    let tenant_key = env.key("read").await;
    let (code, out, err) = env
        .run(&["keys", "create", "--scope", "operator", "--name", "ops"])
        .await;
    assert_eq!(code, 0, "{err}");
    let operator_id = out
        .split_whitespace()
        .find(|w| w.starts_with("key_"))
        .expect("the new key's id")
        .to_string();
    let (code, out, err) = env.run(&["keys", "list", "--operator"]).await;
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "PREFIX", "STATE", "SCOPES", "LAST", "USED", "NAME"],
        "{out}"
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&operator_id) && row.contains("operator") && row.ends_with("ops"),
        "{out}"
    );
    let (_, tenant_list, _) = env.run(&["keys", "list"]).await;
    assert!(tenant_list.starts_with("ID "), "{tenant_list}");
    assert!(!tenant_list.contains(&operator_id), "{tenant_list}");
    assert!(tenant_list.contains(&tenant_key[..7]), "{tenant_list}");
    let (code, _, _) = env
        .run(&["keys", "list", "--operator", "--tenant", "default"])
        .await;
    assert_eq!(code, 2);
}

#[tokio::test]
async fn dlq_list_refuses_a_limit_outside_1_to_1000() {
    let env = sqlite_env();
    for limit in ["--limit=0", "--limit=-1", "--limit=1001"] {
        let (code, _, err) = env.run(&["dlq", "list", limit]).await;
        assert_eq!(code, 2, "--limit {limit}: {err}");
        assert!(err.contains("--limit"), "{err}");
    }
    let (code, out, err) = env.run(&["dlq", "list", "--limit", "1"]).await;
    assert_eq!(
        (code, out.trim()),
        (0, "the dead-letter queue is empty"),
        "{err}"
    );
}

#[tokio::test]
async fn postgres_notices_are_not_logged_on_every_start() {
    let Some(env) = postgres_env().await else {
        return;
    };
    let (code, _, err) = env.run(&["migrate"]).await;
    assert_eq!(code, 0, "{err}");
    // The second start finds every table: PostgreSQL's "already exists,
    // skipping" notices used to be logged at INFO here.
    let (code, _, err) = env.run(&["migrate"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("already exists"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_logged_at_warn_without_personal_data() {
    let env = sqlite_env();
    let sink = Sink::start().await;
    sink.set_status(400);
    webhook_provider(&env, "");
    hook_workflow(&env, "hook.ping", &format!("{}/hook", sink.url));
    let key = env.key("admin").await;
    let server = Server::start(&env, "all", &[("FOGHORN_DELIVERY__MAX_ATTEMPTS", "1")]).await;
    let api = Api::new(&server.base, &key);
    let (status, body) = api
        .post(
            "/v1/events",
            serde_json::json!({"name": "hook.ping", "to": [{"email": "elena@example.com"}],
                "data": {"secret_note": "Jeanneau 51 at berth 12"}}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["notifications"][0]["id"].as_str().unwrap().to_string();
    api.wait_for_status("dead", 1, std::time::Duration::from_secs(20))
        .await;
    let logs = server.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("dead-letter queue") && l.contains(&id))
        .unwrap_or_else(|| panic!("no dead-letter line for {id}:\n{logs}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("reason="), "{line}");
    assert!(
        !logs.contains("elena@example.com") && !logs.contains("berth 12"),
        "{logs}"
    );
    server.stop().await;
}
