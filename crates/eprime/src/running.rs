//! Starting the server: open the database, load the demo when asked, bind, serve.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use eprime_server::{AppState, ServerConfig, passwords};
use eprime_store::DynStore;
use tokio::sync::oneshot;

use crate::database::{self, Database};

/// How to start a server.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub database: String,
    pub addr: SocketAddr,
    pub demo: bool,
    pub demo_password: String,
    pub config: ServerConfig,
}

/// A server running in the background of this process.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub store: DynStore,
    /// The database it serves (closed when the server stops).
    pub database: Database,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// What the demo loaded, when it did.
    pub demo: Option<eprime_demo::Summary>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests, finishes those in flight and closes the database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.context("the server task failed")?.context("the server failed")?;
        self.database.close().await;
        Ok(())
    }

    /// Waits until the server stops by itself (it does not, short of an error).
    pub async fn wait(mut self, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        tokio::select! {
            result = &mut self.task => { result.context("the server task failed")?.context("the server failed")?; }
            () = shutdown => {
                tracing::info!("shutting down: finishing requests in flight");
                if let Some(stop) = self.stop.take() { let _ = stop.send(()); }
                match tokio::time::timeout(Duration::from_secs(30), &mut self.task).await {
                    Ok(result) => result.context("the server task failed")?.context("the server failed")?,
                    Err(_) => tracing::warn!("requests still running after 30 s; stopping anyway"),
                }
            }
        }
        self.database.close().await;
        Ok(())
    }
}

/// Opens the database, loads the demo into it when asked and it is empty, and starts serving.
pub async fn start(options: ServeOptions) -> anyhow::Result<RunningServer> {
    let database = database::open(&options.database).await?;
    let store = database.store.clone();
    let prepared = async {
        let demo = if options.demo { load_demo(&store, &options.demo_password).await? } else { None };
        let listener = tokio::net::TcpListener::bind(options.addr)
            .await
            .with_context(|| format!("cannot listen on {} (is another server using it?)", options.addr))?;
        anyhow::Ok((demo, listener))
    };
    let (demo, listener) = match prepared.await {
        Ok(prepared) => prepared,
        Err(error) => {
            database.close().await;
            return Err(error);
        }
    };
    let addr = listener.local_addr()?;
    // What became overdue while the server was down is recorded before it answers (later sweeps
    // run in the background); a failure only delays it to the next sweep.
    eprime_server::overdue::sweep_now(&store, &options.config.overdue).await;
    let (stop, stopped) = oneshot::channel::<()>();
    let state = AppState::new(store.clone(), options.config);
    state.menu.built().await;
    let changes = state.changes.clone();
    let app = eprime_server::app_with(state, eprime_web::router());
    let task = tokio::spawn(eprime_server::serve_app(listener, app, async move {
        let _ = stopped.await;
        // Live streams never end by themselves: end them, or shutting down would wait for them.
        changes.close();
    }));
    Ok(RunningServer { addr, store, database, stop: Some(stop), task, demo })
}

async fn load_demo(store: &DynStore, password: &str) -> anyhow::Result<Option<eprime_demo::Summary>> {
    if !store.is_empty().await? {
        tracing::warn!("the database already holds data: the demo is not loaded (it fills only an empty database)");
        return Ok(None);
    }
    let hash = |password: &str| passwords::hash_password(password).unwrap_or_default();
    let summary = eprime_demo::load(store.as_ref(), password, &hash).await.context("loading the demo")?;
    Ok(Some(summary))
}
