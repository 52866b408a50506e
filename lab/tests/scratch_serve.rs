use lab::faults::Faults;
use lab::k8s::{self, Store};
use serde_json::json;
#[tokio::test]
#[ignore]
async fn serve() {
    let store = Store::new();
    store
        .seed(vec![
            json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"}}),
        ])
        .unwrap();
    let server = k8s::start(store.clone(), axum::Router::new(), &Faults::default())
        .await
        .unwrap();
    let dir = std::path::Path::new("/tmp/l14kc");
    std::fs::create_dir_all(dir).unwrap();
    let kc = k8s::kubeconfig::write(&server.url(), dir).unwrap();
    println!("KC {}", kc.display());
    tokio::time::sleep(std::time::Duration::from_secs(3000)).await;
}
