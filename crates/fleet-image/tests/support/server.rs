//! A tiny HTTP/1.1 server on 127.0.0.1 for the pull tests: it serves fixed bodies, honours
//! `Range: bytes=N-` (or, when told, ignores it or closes a response early), and records every
//! request so tests can assert what was asked for.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the server answers for one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behaviour {
    /// 200, or 206 for a range request (416 past the end).
    Normal,
    /// 200 with the whole body, whatever the request's Range says.
    IgnoresRange,
    /// Announces the full length, sends only this many body bytes, then closes.
    ClosesAfter(usize),
}

#[derive(Debug, Clone)]
struct Route {
    body: Vec<u8>,
    behaviour: Behaviour,
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) path: String,
    pub(crate) range: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    routes: BTreeMap<String, Route>,
    requests: Vec<Request>,
}

#[derive(Debug)]
pub(crate) struct Server {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let address = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State::default()));
        let stopping = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = Arc::clone(&state);
            let stopping = Arc::clone(&stopping);
            std::thread::spawn(move || {
                for connection in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(connection) = connection {
                        serve(connection, &state);
                    }
                }
            })
        };
        Self {
            address,
            state,
            stopping,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub(crate) fn route(&self, path: &str, body: Vec<u8>, behaviour: Behaviour) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_owned(), Route { body, behaviour });
    }

    pub(crate) fn set_behaviour(&self, path: &str, behaviour: Behaviour) {
        self.state
            .lock()
            .unwrap()
            .routes
            .get_mut(path)
            .expect("a route set before")
            .behaviour = behaviour;
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub(crate) fn requests_for(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|request| request.path == path)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(connection: TcpStream, state: &Mutex<State>) {
    let _ = connection.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = connection.set_write_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(&connection);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mut range = None;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("range")
                {
                    range = Some(value.trim().to_owned());
                }
            }
        }
    }
    let route = {
        let mut state = state.lock().unwrap();
        state.requests.push(Request {
            path: path.clone(),
            range: range.clone(),
        });
        state.routes.get(&path).cloned()
    };
    let mut connection = &connection;
    let Some(route) = route else {
        let _ = connection
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let length = route.body.len();
    let first = match (route.behaviour, range.as_deref()) {
        (Behaviour::IgnoresRange, _) | (_, None) => None,
        (_, Some(range)) => range
            .strip_prefix("bytes=")
            .and_then(|range| range.strip_suffix('-'))
            .and_then(|first| first.parse::<usize>().ok()),
    };
    let (head, body) = match first {
        None => (
            format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n"),
            &route.body[..],
        ),
        Some(first) if first >= length => (
            format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{length}\r\nContent-Length: 0\r\n"
            ),
            &[][..],
        ),
        Some(first) => (
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {first}-{}/{length}\r\nContent-Length: {}\r\n",
                length - 1,
                length - first
            ),
            &route.body[first..],
        ),
    };
    let sent = match route.behaviour {
        Behaviour::ClosesAfter(bytes) => &body[..bytes.min(body.len())],
        _ => body,
    };
    let _ = connection.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes());
    let _ = connection.write_all(sent);
    let _ = connection.flush();
}
