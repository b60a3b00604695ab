//! The prefecture generator (`tests/src/prefecture/`) writes rows straight into PostgreSQL
//! for the benchmarks at scale; they are only worth measuring if they are what the API
//! would have written. A small city is loaded into a migrated database, the server then
//! starts on it (adding the demo frame beside it), and a sample of every kind of row is
//! read back through the API, which must answer exactly what was drawn.

use std::path::PathBuf;

use bangfu::infra::config::{Config, Overrides};
use bangfu::infra::db::{Db, migrate};
use bangfu::infra::sealing::DataKey;
use bangfu_e2e::prefecture::plan::Plan;
use bangfu_e2e::prefecture::{self, Api, field, files, frame, registry};
use bangfu_e2e::{Backend, TestDb, TestServer, backend};

#[test]
fn a_generated_prefecture_reads_back_through_the_api() {
    if backend() != Backend::Postgres {
        bangfu_e2e::skip("the generator loads PostgreSQL only (COPY): runs in the PostgreSQL pass");
        return;
    }
    let db = TestDb::new(Backend::Postgres);
    let config = Config::load(&Overrides {
        addr: None,
        data_dir: Some(PathBuf::from(db.dir.path())),
        database_url: Some(db.url.clone()),
        config: None,
    })
    .expect("config");
    migrate::run_pending(&mut Db::connect(&config.db).expect("db").conn().expect("conn"))
        .expect("migrations");
    // Sealed and hashed with the key the server will read, as registration would have.
    let key = DataKey::from_secret(config.data_key().expect("data key").as_bytes());
    let now = chrono::Utc::now().naive_utc();
    let plan = Plan::draw(7, 3_000, now, key, &db.url);
    frame::write(&plan);
    registry::write(&plan);
    files::write(&plan);
    field::write(&plan);
    let s = TestServer::start_on(db);
    prefecture::read_back(&plan, &Api::new(&s.base), 40).expect("the rows read back as drawn");
}
