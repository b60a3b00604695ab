//! The S3-compatible store: objects in a bucket, under an optional prefix.

use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::web::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::StreamExt;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::infra::blobs::{BlobKey, BlobStore, ByteStream, PartKey, blocking, write_all};
use crate::infra::error::{Error, Result};

/// Objects in an S3-compatible bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
}

/// Files up to this size go up in one request; larger ones in parts of this size.
const S3_PART: usize = 5 * 1024 * 1024;

impl S3Store {
    /// `s3://bucket[/prefix]`; endpoint, region and credentials from the usual `AWS_*`
    /// variables (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint), then from
    /// `options` (the same settings by `object_store` name, e.g. `aws_endpoint`).
    pub fn from_url(url: &str, options: &[(String, String)]) -> anyhow::Result<S3Store> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| anyhow::anyhow!("an S3 photo store is named s3://bucket[/prefix]"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        anyhow::ensure!(!bucket.is_empty(), "the S3 photo store needs a bucket name");
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (k, v) in options {
            let key: object_store::aws::AmazonS3ConfigKey = k.parse()?;
            builder = builder.with_config(key, v);
        }
        let store = builder.build()?;
        Ok(S3Store {
            store: Arc::new(store),
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn location(&self, key: &BlobKey) -> object_store::path::Path {
        self.at(&key.path())
    }

    fn at(&self, path: &str) -> object_store::path::Path {
        if self.prefix.is_empty() {
            object_store::path::Path::from(path)
        } else {
            object_store::path::Path::from(format!("{}/{path}", self.prefix))
        }
    }

    /// Sends a local file to `loc`: in one request up to [`S3_PART`], in parts beyond, with
    /// at most two parts in memory.
    async fn send_file(&self, loc: &object_store::path::Path, src: &Path) -> Result<()> {
        let len = std::fs::metadata(src).map_err(Error::io)?.len();
        let read_part = |f: std::fs::File, n: usize| {
            blocking(move || {
                let mut f = f;
                let mut buf = vec![0u8; n];
                f.read_exact(&mut buf).map_err(Error::io)?;
                Ok((f, Bytes::from(buf)))
            })
        };
        let f = std::fs::File::open(src).map_err(Error::io)?;
        if len <= S3_PART as u64 {
            let (_, bytes) = read_part(f, len as usize).await?;
            self.store
                .put(loc, PutPayload::from(bytes))
                .await
                .map_err(s3)?;
        } else {
            let upload = self.store.put_multipart(loc).await.map_err(s3)?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, S3_PART);
            let (mut f, mut left) = (f, len);
            while left > 0 {
                let n = left.min(S3_PART as u64) as usize;
                w.wait_for_capacity(2).await.map_err(s3)?;
                let (next, bytes) = match read_part(f, n).await {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = w.abort().await;
                        return Err(e);
                    }
                };
                w.put(bytes);
                f = next;
                left -= n as u64;
            }
            w.finish().await.map_err(s3)?;
        }
        Ok(())
    }

    async fn read(
        &self,
        loc: object_store::path::Path,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream> {
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let r = self.store.get_opts(&loc, opts).await.map_err(s3)?;
        Ok(r.into_stream()
            .map(|c| c.map_err(std::io::Error::other))
            .boxed())
    }
}

fn s3(e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { .. } => Error::NotFound,
        other => Error::Unavailable(format!("object store: {other}")),
    }
}

impl BlobStore for S3Store {
    fn size<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, Result<Option<u64>>> {
        Box::pin(async move {
            match self.store.head(&self.location(key)).await {
                Ok(m) => Ok(Some(m.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(s3(e)),
            }
        })
    }

    fn put_file<'a>(&'a self, key: &'a BlobKey, file: &'a Path) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let loc = self.location(key);
            let src = file.to_owned();
            if self.size(key).await?.is_some() {
                let _ = std::fs::remove_file(&src);
                return Ok(false);
            }
            self.send_file(&loc, &src).await?;
            std::fs::remove_file(&src).map_err(Error::io)?;
            Ok(true)
        })
    }

    fn put_bytes<'a>(&'a self, key: &'a BlobKey, bytes: Bytes) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.store
                .put(&self.location(key), PutPayload::from(bytes))
                .await
                .map_err(s3)?;
            Ok(())
        })
    }

    fn put_stream<'a>(
        &'a self,
        key: &'a BlobKey,
        len: u64,
        mut body: ByteStream,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let loc = self.location(key);
            if len <= S3_PART as u64 {
                let mut buf = Vec::with_capacity(len as usize);
                while let Some(chunk) = body.next().await {
                    buf.extend_from_slice(&chunk.map_err(Error::io)?);
                }
                self.store
                    .put(&loc, PutPayload::from(Bytes::from(buf)))
                    .await
                    .map_err(s3)?;
                return Ok(());
            }
            let upload = self.store.put_multipart(&loc).await.map_err(s3)?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, S3_PART);
            while let Some(chunk) = body.next().await {
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        // Leaves no half object behind (nor its parts, billed by the store).
                        let _ = w.abort().await;
                        return Err(Error::io(e));
                    }
                };
                // At most two parts in flight: memory stays bounded whatever the size.
                w.wait_for_capacity(2).await.map_err(s3)?;
                w.write(&chunk);
            }
            w.finish().await.map_err(s3)?;
            Ok(())
        })
    }

    fn get<'a>(
        &'a self,
        key: &'a BlobKey,
        range: Option<Range<u64>>,
    ) -> BoxFuture<'a, Result<ByteStream>> {
        Box::pin(self.read(self.location(key), range))
    }

    fn local_copy<'a>(
        &'a self,
        key: &'a BlobKey,
        scratch: &'a Path,
    ) -> BoxFuture<'a, Result<PathBuf>> {
        Box::pin(async move {
            let dest = scratch.join(format!("fetch-{}", uuid::Uuid::now_v7().simple()));
            let mut s = self.get(key, None).await?;
            let d = dest.clone();
            let f = blocking(move || std::fs::File::create(&d).map_err(Error::io)).await?;
            write_all(f, &mut s).await?;
            Ok(dest)
        })
    }

    fn put_part<'a>(&'a self, part: &'a PartKey, file: &'a Path) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.send_file(&self.at(&part.path()), file).await?;
            std::fs::remove_file(file).map_err(Error::io)
        })
    }

    fn get_part<'a>(&'a self, part: &'a PartKey) -> BoxFuture<'a, Result<ByteStream>> {
        Box::pin(self.read(self.at(&part.path()), None))
    }

    fn remove_parts<'a>(&'a self, upload: &'a uuid::Uuid) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let folder = self.at(&PartKey::folder(upload));
            let mut listed = self.store.list(Some(&folder));
            while let Some(meta) = listed.next().await {
                match self.store.delete(&meta.map_err(s3)?.location).await {
                    Err(e) if !matches!(e, object_store::Error::NotFound { .. }) => {
                        return Err(s3(e));
                    }
                    _ => {}
                }
            }
            Ok(())
        })
    }

    fn describe(&self) -> String {
        format!("S3 bucket {} prefix {:?}", self.bucket, self.prefix)
    }
}
