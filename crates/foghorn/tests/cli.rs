//! The command line: exit codes, key creation, migrate, send, demo.

mod common;

use common::*;

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
}
