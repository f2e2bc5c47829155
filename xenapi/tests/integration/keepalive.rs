//! Kept-alive RPC connections that the server closed meanwhile are replaced transparently.
//! The peer is a minimal HTTP/1.1 server on `std::net` that answers one request per
//! connection and then closes it, without announcing `Connection: close`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread;

use xenapi::{Session, SessionOptions};

use super::support::capture_logs;

fn answer(request: &str) -> String {
    let value = if request.contains("session.login_with_password") {
        "<value>OpaqueRef:s</value>"
    } else if request.contains("session.logout") {
        "<value/>"
    } else {
        "<value><array><data><value>OpaqueRef:vm</value></data></array></value>"
    };
    let body = format!(
        "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct><member><name>\
         Status</name><value>Success</value></member><member><name>Value</name>{value}</member>\
         </struct></value></param></params></methodResponse>"
    );
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn closed_idle_connections_are_replaced() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Login, two calls and the logout: each finds its kept-alive connection closed.
    let server = thread::spawn(move || {
        let mut methods = Vec::new();
        for _ in 0..4 {
            let (socket, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(socket);
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let request = String::from_utf8(body).unwrap();
            reader
                .get_mut()
                .write_all(answer(&request).as_bytes())
                .unwrap();
            methods.push(
                request
                    .split("<methodName>")
                    .nth(1)
                    .unwrap()
                    .split('<')
                    .next()
                    .unwrap()
                    .to_owned(),
            );
        }
        methods
    });
    let (subscriber, logs) = capture_logs();
    tracing::subscriber::with_default(subscriber, || {
        let session = Session::login(&url, "root", "secret", SessionOptions::default()).unwrap();
        assert_eq!(session.vm().get_all().unwrap().len(), 1);
        assert_eq!(session.vm().get_all().unwrap().len(), 1);
    });
    let methods = server.join().unwrap();
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert_eq!(
        logs.matches("the idle connection was closed").count(),
        3,
        "{logs}"
    );
    assert_eq!(
        methods,
        [
            "session.login_with_password",
            "VM.get_all",
            "VM.get_all",
            "session.logout"
        ]
    );
}
