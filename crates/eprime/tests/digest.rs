//! The daily e-mail digest, sent over real SMTP to a sink this test runs.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eprime::{ServeOptions, start};
use eprime_server::ServerConfig;
use eprime_server::digest::MailConfig;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A minimal SMTP server that accepts every message and keeps its data.
async fn smtp_sink() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let kept = messages.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ready\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            kept.lock().unwrap().push(std::mem::take(body));
                            data = None;
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or_default().to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (addr, messages)
}

async fn login(client: &Client, url: &str, user: &str) -> String {
    let response = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": "demo-password"}))
        .send()
        .await
        .unwrap();
    response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn subscribers_receive_their_unread_notifications_by_e_mail() {
    let (smtp, messages) = smtp_sink().await;
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        mail: Some(MailConfig {
            smtp_url: format!("smtp://{smtp}"),
            from: "e-PRIME <eprime@example.org>".into(),
            digest_hour: 6,
        }),
        ..ServerConfig::default()
    };
    let server = start(ServeOptions {
        database: format!("sqlite://{}", dir.path().join("eprime.db").display()),
        addr: "127.0.0.1:0".parse().unwrap(),
        demo: true,
        demo_password: "demo-password".into(),
        config,
    })
    .await
    .unwrap();
    let url = server.url();
    let client = Client::new();
    let staff = login(&client, &url, "nato.staff").await;
    let admin = login(&client, &url, "nato.admin").await;
    let japan = login(&client, &url, "jpn.officer").await;

    let subscribe = |token: &str, email: &str| {
        client.put(format!("{url}/api/v1/digest")).bearer_auth(token).json(&json!({"email": email})).send()
    };
    assert_eq!(subscribe(&staff, "desk@nato.example").await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(subscribe(&japan, "not an address").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(subscribe(&japan, "mission@japan.example").await.unwrap().status(), StatusCode::NO_CONTENT);

    // Japan proposes an activity: NATO staff are asked to approve it.
    let body = json!({"partnership": "JPN", "title": "Space security workshop", "kind": "seminar"});
    let created = client.post(format!("{url}/api/v1/activities")).bearer_auth(&japan).json(&body).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    for _ in 0..100 {
        let inbox: Value = client
            .get(format!("{url}/api/v1/notifications"))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // The notifier works in passes: wait for this change's notification, not just any.
        if inbox["items"].as_array().unwrap().iter().any(|n| n.to_string().contains("Space security workshop")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let send = || client.post(format!("{url}/api/v1/digest/send")).bearer_auth(&admin).send();
    let run: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (run["sent"].as_u64(), run["empty"].as_u64(), run["failed"].as_u64()),
        (Some(1), Some(1), Some(0)),
        "{run}"
    );
    let mail = messages.lock().unwrap().clone();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("To: desk@nato.example"), "{}", mail[0]);
    // The demo's own proposed activities wait for approval too: one digest lists them all.
    assert!(mail[0].contains("Subject: e-PRIME: 3 updates"), "{}", mail[0]);
    assert!(
        mail[0].contains("[JPN] jpn.officer created activity") && mail[0].contains("Space security workshop"),
        "{}",
        mail[0]
    );
    // Once a day: a second run sends nothing new.
    let again: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(again["sent"], 0);
    assert_eq!(messages.lock().unwrap().len(), 1);
    // Only NATO administrators trigger a run; everyone manages their own subscription.
    let refused = client.post(format!("{url}/api/v1/digest/send")).bearer_auth(&staff).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let mine: Value =
        client.get(format!("{url}/api/v1/digest")).bearer_auth(&japan).send().await.unwrap().json().await.unwrap();
    assert_eq!(mine["email"], "mission@japan.example");
    let gone = client.delete(format!("{url}/api/v1/digest")).bearer_auth(&japan).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let none = client.get(format!("{url}/api/v1/digest")).bearer_auth(&japan).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn without_an_smtp_relay_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServeOptions {
        database: format!("sqlite://{}", dir.path().join("eprime.db").display()),
        addr: "127.0.0.1:0".parse().unwrap(),
        demo: true,
        demo_password: "demo-password".into(),
        config: ServerConfig::default(),
    })
    .await
    .unwrap();
    let client = Client::new();
    let admin = login(&client, &server.url(), "nato.admin").await;
    let response =
        client.post(format!("{}/api/v1/digest/send", server.url())).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    server.stop().await.unwrap();
}
