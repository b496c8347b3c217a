//! Cross-core wake-ups are never lost. glommio is vendored with a `SeqCst`
//! fence at park in place of `membarrier()` (vendor/glommio/STRATUM.md); a
//! wrong pairing would show as a receiver asleep on an item already queued,
//! which hangs the ping-pong below. The pauses make each side park between
//! messages, so most sends find the other executor asleep or falling asleep.

use std::sync::mpsc;
use std::time::Duration;

use glommio::channels::shared_channel;
use glommio::LocalExecutorBuilder;

const ROUND_TRIPS: u32 = 40_000;

#[test]
fn ping_pong_between_executors_never_loses_a_wakeup() {
    let (ping_tx, ping_rx) = shared_channel::new_bounded::<u32>(1);
    let (pong_tx, pong_rx) = shared_channel::new_bounded::<u32>(1);
    let (done_tx, done_rx) = mpsc::channel();

    let echo = LocalExecutorBuilder::default()
        .name("echo")
        .spawn(move || async move {
            let rx = ping_rx.connect().await;
            let tx = pong_tx.connect().await;
            while let Some(n) = rx.recv().await {
                if n % 3 == 0 {
                    glommio::timer::sleep(Duration::from_micros(u64::from(n % 50))).await;
                }
                if tx.send(n).await.is_err() {
                    break;
                }
            }
        })
        .expect("echo executor");
    let pinger = LocalExecutorBuilder::default()
        .name("pinger")
        .spawn(move || async move {
            let tx = ping_tx.connect().await;
            let rx = pong_rx.connect().await;
            for n in 0..ROUND_TRIPS {
                tx.send(n).await.expect("echo is alive");
                assert_eq!(rx.recv().await, Some(n));
                if n % 5 == 0 {
                    glommio::timer::sleep(Duration::from_micros(u64::from(n % 70))).await;
                }
            }
            let _ = done_tx.send(());
        })
        .expect("pinger executor");

    // A lost wake-up leaves both sides asleep for good: wait with a bound.
    done_rx.recv_timeout(Duration::from_secs(120)).expect("a wake-up was lost: the ping-pong stalled");
    pinger.join().expect("pinger");
    echo.join().expect("echo");
}
