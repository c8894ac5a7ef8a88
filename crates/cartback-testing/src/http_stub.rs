//! A loopback HTTP server that records every request and answers 200 with a JSON
//! id: the far end of the HTTP email providers in end-to-end tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-cased header names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct HttpStub {
    pub base_url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

/// What the stub answers: status, extra headers, JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Picks the reply to a request; `index` counts requests from 1.
pub type Responder = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

fn read_request(stream: &mut std::net::TcpStream) -> Option<Recorded> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

impl HttpStub {
    /// Answers every request 200 with `{"id": "stub-<n>"}`.
    pub fn start() -> HttpStub {
        HttpStub::start_with(|_, index| Reply::json(200, &format!("{{\"id\":\"stub-{index}\"}}")))
    }

    /// Answers each request with what `responder` says.
    pub fn start_with(
        responder: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> HttpStub {
        let responder: Arc<Responder> = Arc::new(responder);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind stub");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let recorded = recorded.clone();
                let responder = responder.clone();
                std::thread::spawn(move || {
                    // Keep-alive: serve requests until the client closes.
                    while let Some(request) = read_request(&mut stream) {
                        let index = {
                            let mut all = recorded.lock().expect("lock");
                            all.push(request.clone());
                            all.len()
                        };
                        let reply = responder(&request, index);
                        let mut response = format!(
                            "HTTP/1.1 {} Stub\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                            reply.status,
                            reply.body.len()
                        );
                        for (name, value) in &reply.headers {
                            response.push_str(&format!("{name}: {value}\r\n"));
                        }
                        response.push_str("\r\n");
                        response.push_str(&reply.body);
                        if stream.write_all(response.as_bytes()).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        HttpStub { base_url, requests }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}
