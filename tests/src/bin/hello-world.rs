//! actix-web's hello world, built with bangfu's actix-web and the same number of workers:
//! the ceiling a load test compares bangfu with on the same machine.
//!
//!   ./target/release/hello-world 127.0.0.1:18080 [workers]

use actix_web::{App, HttpResponse, HttpServer, web};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18080".into());
    let workers = args
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| {
            App::new().route(
                "/",
                web::get().to(|| async { HttpResponse::Ok().body("Hello world!") }),
            )
        })
        .workers(workers)
        .bind(addr)?
        .run()
        .await
    })
}
