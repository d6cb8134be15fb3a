//! The in-process S3-protocol server of the default test tier: s3s over a
//! directory (s3s-fs), on a loopback port, so that plain `cargo test` proves
//! the store probe against a real server with nothing but the Rust
//! toolchain. SigV4 is verified by s3s itself, so a wrong secret is a real
//! `SignatureDoesNotMatch`. Two hooks shape the refusals as AWS words them:
//! an unknown access key is `InvalidAccessKeyId` (s3s's own answer would be
//! `NotSignedUp`), and the reader's key may read but not write
//! (`AccessDenied` on PutObject and DeleteObject), as an IAM policy would.

use std::net::SocketAddr;
use std::sync::OnceLock;

use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::service::S3ServiceBuilder;
use s3s::{S3Result, s3_error};

use super::Store;

const WRITER: (&str, &str) = (
    "AKIAS3SWRITER0000001",
    "s3sWriterSecretKey/0000000000000000000001",
);
const READER: (&str, &str) = (
    "AKIAS3SREADER0000002",
    "s3sReaderSecretKey/0000000000000000000002",
);
const BUCKET: &str = "polyaxon-artifacts";

struct Keys;

#[async_trait::async_trait]
impl S3Auth for Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        [WRITER, READER]
            .into_iter()
            .find(|(id, _)| *id == access_key)
            .map(|(_, secret)| SecretKey::from(secret))
            .ok_or_else(|| {
                s3_error!(
                    InvalidAccessKeyId,
                    "The AWS Access Key Id you provided does not exist in our records."
                )
            })
    }
}

/// Read allowed, write denied for the reader; everything for the writer.
struct ReaderMayNotWrite;

#[async_trait::async_trait]
impl S3Access for ReaderMayNotWrite {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let Some(credentials) = cx.credentials() else {
            return Err(s3_error!(AccessDenied, "Anonymous access is forbidden"));
        };
        let writes = matches!(cx.s3_op().name(), "PutObject" | "DeleteObject");
        if credentials.access_key == READER.0 && writes {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        }
        Ok(())
    }
}

/// One server for the whole test binary, on its own runtime thread.
pub fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let root = tempfile::tempdir().expect("a directory for the bucket");
        std::fs::create_dir(root.path().join(BUCKET)).expect("the bucket");
        let filesystem = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs over the directory");
        let mut builder = S3ServiceBuilder::new(filesystem);
        builder.set_auth(Keys);
        builder.set_access(ReaderMayNotWrite);
        let service = builder.build();

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            // The directory lives as long as the server, which is the process.
            let _root = root;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the store");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let service = service.clone();
                    tokio::spawn(async move {
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
                    });
                }
            });
        });
        Store {
            endpoint: format!("http://{address}"),
            bucket: BUCKET.to_string(),
            writer: (WRITER.0.to_string(), WRITER.1.to_string()),
            reader: (READER.0.to_string(), READER.1.to_string()),
        }
    })
}
