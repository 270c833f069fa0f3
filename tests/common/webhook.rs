//! A local webhook receiver that records every call and fails the first few.

use std::sync::{Arc, Mutex};

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{EndpointExt, Request, Response, Route, Server, handler, http::StatusCode, web::Data};

#[derive(Clone, Debug)]
pub struct WebhookCall {
    pub status: u16,
    pub delivery_id: String,
    pub signature: String,
    pub body: String,
}

#[derive(Default)]
struct Recorded {
    calls: Mutex<Vec<WebhookCall>>,
    fail_first: usize,
}

pub struct WebhookReceiver {
    port: u16,
    recorded: Arc<Recorded>,
    server: tokio::task::JoinHandle<()>,
}

#[handler]
async fn receive(req: &Request, body: String, recorded: Data<&Arc<Recorded>>) -> Response {
    let header = |name: &str| req.header(name).unwrap_or_default().to_owned();
    let mut calls = recorded.calls.lock().unwrap();
    let status = if calls.len() < recorded.fail_first {
        500
    } else {
        200
    };
    calls.push(WebhookCall {
        status,
        delivery_id: header("x-delivery-id"),
        signature: header("x-taskman-signature"),
        body,
    });
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .finish()
}

impl WebhookReceiver {
    /// Answers 500 to the first `fail_first` calls, 200 afterwards.
    pub async fn start(fail_first: usize) -> Self {
        let recorded = Arc::new(Recorded {
            calls: Mutex::default(),
            fail_first,
        });
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let app = Route::new()
            .at("/hook", poem::post(receive))
            .data(recorded.clone());
        let server = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        Self {
            port,
            recorded,
            server,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// What delivery errors name of the webhook: its origin only.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn calls(&self) -> Vec<WebhookCall> {
        self.recorded.calls.lock().unwrap().clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}
