//! A loopback SMTP server for tests: speaks enough RFC 5321 for a real
//! client (`lettre`), records every accepted message, and answers the
//! reply codes tests need.
//!
//! Each accepted message is written to the sink's folder as `N.eml` (the
//! DATA exactly as received, dot-unstuffed, CRLF line ends kept) and
//! `N.json` (`{"mail_from", "rcpt_tos", "login"}`), the `.json` last and
//! renamed into place so a reader never sees half a message.
//!
//! Replies that tests rely on:
//! - a recipient whose local part starts with `reject-perm` gets `550`,
//!   one starting with `reject-temp` gets `451` (RFC 5321 §4.2: 5yz is
//!   permanent, 4yz transient);
//! - with credentials, EHLO offers `AUTH PLAIN LOGIN` (RFC 4954, RFC 4616)
//!   over plain text (loopback only), a wrong login is `535`, and `MAIL`
//!   before a login is `530`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A running sink; it stops and its folder is removed on drop.
pub struct SmtpSink {
    pub port: u16,
    dir: PathBuf,
    server: tokio::task::JoinHandle<()>,
}

struct Shared {
    dir: PathBuf,
    auth: Option<(String, String)>,
    count: AtomicUsize,
}

impl SmtpSink {
    /// Listens on a free loopback port. With `auth`, clients must log in as
    /// that user and password.
    pub async fn start(auth: Option<(&str, &str)>) -> SmtpSink {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "foghorn-smtp-sink-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a folder for the SMTP sink");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the SMTP sink");
        let port = listener.local_addr().expect("its address").port();
        let shared = Arc::new(Shared {
            dir: dir.clone(),
            auth: auth.map(|(u, p)| (u.to_string(), p.to_string())),
            count: AtomicUsize::new(0),
        });
        let server = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    // A client that goes away mid-session is its own business.
                    let _ = session(socket, &shared).await;
                });
            }
        });
        SmtpSink { port, dir, server }
    }

    /// The folder messages are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `smtp://` + `credentials` (`user:pass@` or empty) + this sink.
    pub fn url(&self, credentials: &str) -> String {
        format!("smtp://{credentials}127.0.0.1:{}", self.port)
    }

    /// The envelope and raw DATA of the n-th message (from 1), waiting up
    /// to five seconds for it.
    pub async fn message(&self, n: usize) -> (serde_json::Value, String) {
        let meta = self.dir.join(format!("{n}.json"));
        for _ in 0..100 {
            if let Ok(bytes) = std::fs::read(&meta) {
                let envelope = serde_json::from_slice(&bytes).expect("the sink's own JSON");
                let raw = std::fs::read_to_string(self.dir.join(format!("{n}.eml")))
                    .expect("the message beside its envelope");
                return (envelope, raw);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("message {n} never arrived in {}", self.dir.display());
    }

    /// Messages accepted so far.
    pub fn count(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                    .count()
            })
            .unwrap_or(0)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One envelope being built.
#[derive(Default)]
struct Envelope {
    mail_from: Option<String>,
    rcpt_tos: Vec<String>,
}

async fn session(socket: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 127.0.0.1 ESMTP foghorn test sink\r\n")
        .await?;
    let mut login: Option<String> = None;
    let mut envelope = Envelope::default();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let (verb, arg) = command.split_once(' ').unwrap_or((command, ""));
        let answer = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                let mut a = String::from("250-127.0.0.1\r\n250-8BITMIME\r\n");
                if shared.auth.is_some() {
                    a.push_str("250-AUTH PLAIN LOGIN\r\n");
                }
                a.push_str("250 SMTPUTF8");
                a
            }
            "HELO" => "250 127.0.0.1".into(),
            "AUTH" => match &shared.auth {
                None => "502 5.5.1 AUTH not offered".into(),
                Some((user, pass)) => {
                    let got = authenticate(arg, &mut lines, &mut write).await?;
                    match got {
                        Some((u, p)) if &u == user && &p == pass => {
                            login = Some(u);
                            "235 2.7.0 Authentication successful".into()
                        }
                        _ => "535 5.7.8 Authentication credentials invalid".into(),
                    }
                }
            },
            "MAIL" if shared.auth.is_some() && login.is_none() => {
                "530 5.7.0 Authentication required".into()
            }
            "MAIL" => {
                envelope = Envelope {
                    mail_from: Some(path_of(arg)),
                    rcpt_tos: Vec::new(),
                };
                "250 OK".into()
            }
            "RCPT" if envelope.mail_from.is_none() => "503 5.5.1 Error: need MAIL command".into(),
            "RCPT" => {
                let address = path_of(arg);
                let local = address.split('@').next().unwrap_or_default();
                if local.starts_with("reject-perm") {
                    format!("550 5.1.1 <{address}>: Recipient address rejected: User unknown")
                } else if local.starts_with("reject-temp") {
                    format!("451 4.3.0 <{address}>: Temporary failure, try again later")
                } else {
                    envelope.rcpt_tos.push(address);
                    "250 OK".into()
                }
            }
            "DATA" if envelope.rcpt_tos.is_empty() => "503 5.5.1 Error: need RCPT command".into(),
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let content = read_data(&mut lines).await?;
                let n = shared.count.fetch_add(1, Ordering::SeqCst) + 1;
                record(&shared.dir, n, &envelope, login.as_deref(), &content)?;
                envelope = Envelope::default();
                format!("250 2.0.0 Ok: queued as {n}")
            }
            "RSET" => {
                envelope = Envelope::default();
                "250 OK".into()
            }
            "NOOP" => "250 OK".into(),
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => "500 5.5.2 Error: command not recognized".into(),
        };
        write.write_all(format!("{answer}\r\n").as_bytes()).await?;
    }
}

/// `FROM:<a@b> BODY=8BITMIME` → `a@b`.
fn path_of(arg: &str) -> String {
    let rest = arg.split_once(':').map_or(arg, |(_, r)| r).trim_start();
    let path = rest.split_whitespace().next().unwrap_or_default();
    path.trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

/// Sends a `334` prompt and reads the client's answer line.
async fn prompt<R, W>(lines: &mut R, write: &mut W, text: &str) -> std::io::Result<String>
where
    R: AsyncBufReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    write.write_all(text.as_bytes()).await?;
    let mut answer = String::new();
    lines.read_line(&mut answer).await?;
    Ok(answer)
}

/// Reads the rest of an AUTH exchange: PLAIN with or without an initial
/// response, or LOGIN's two prompts. `None` when it cannot be decoded.
async fn authenticate<R, W>(
    arg: &str,
    lines: &mut R,
    write: &mut W,
) -> std::io::Result<Option<(String, String)>>
where
    R: AsyncBufReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let decode = |s: &str| B64.decode(s.trim()).ok();
    let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
    match mechanism.to_ascii_uppercase().as_str() {
        "PLAIN" => {
            let response = if initial.is_empty() {
                prompt(lines, write, "334 \r\n").await?
            } else {
                initial.to_string()
            };
            // authzid NUL authcid NUL passwd (RFC 4616 §2).
            let Some(bytes) = decode(&response) else {
                return Ok(None);
            };
            let parts: Vec<&[u8]> = bytes.split(|b| *b == 0).collect();
            Ok(match parts.as_slice() {
                [_, user, pass] => Some((
                    String::from_utf8_lossy(user).into_owned(),
                    String::from_utf8_lossy(pass).into_owned(),
                )),
                _ => None,
            })
        }
        "LOGIN" => {
            let user = if initial.is_empty() {
                // base64("Username:")
                prompt(lines, write, "334 VXNlcm5hbWU6\r\n").await?
            } else {
                initial.to_string()
            };
            // base64("Password:")
            let pass = prompt(lines, write, "334 UGFzc3dvcmQ6\r\n").await?;
            Ok(decode(&user).zip(decode(&pass)).map(|(u, p)| {
                (
                    String::from_utf8_lossy(&u).into_owned(),
                    String::from_utf8_lossy(&p).into_owned(),
                )
            }))
        }
        _ => Ok(None),
    }
}

/// DATA up to the lone `.` line, dot-unstuffed (RFC 5321 §4.5.2).
async fn read_data<R: AsyncBufReadExt + Unpin>(lines: &mut R) -> std::io::Result<Vec<u8>> {
    let mut content = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(content);
        }
        let unstuffed = match line.first() {
            Some(b'.') => &line[1..],
            _ => &line[..],
        };
        content.extend_from_slice(unstuffed);
    }
}

fn record(
    dir: &Path,
    n: usize,
    envelope: &Envelope,
    login: Option<&str>,
    content: &[u8],
) -> std::io::Result<()> {
    std::fs::write(dir.join(format!("{n}.eml")), content)?;
    let meta = serde_json::json!({
        "mail_from": envelope.mail_from,
        "rcpt_tos": envelope.rcpt_tos,
        "login": login,
    });
    let tmp = dir.join(format!("{n}.json.tmp"));
    std::fs::write(&tmp, meta.to_string())?;
    std::fs::rename(tmp, dir.join(format!("{n}.json")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn data_ends_at_the_lone_dot_and_is_unstuffed() {
        let wire: &[u8] = b"Subject: x\r\n\r\n..leading dot\r\n.\r\nnot read\r\n";
        let content = read_data(&mut BufReader::new(wire)).await.unwrap();
        assert_eq!(content, b"Subject: x\r\n\r\n.leading dot\r\n");
        let cut: &[u8] = b"no end\r\n";
        assert!(read_data(&mut BufReader::new(cut)).await.is_err());
    }

    #[test]
    fn paths_lose_their_brackets_and_parameters() {
        assert_eq!(path_of("FROM:<a@b.example> BODY=8BITMIME"), "a@b.example");
        assert_eq!(path_of("TO: <c@d.example>"), "c@d.example");
    }
}
