//! P3: a keystroke's round trip, browser → hub → gateway → hub → browser (the raw gateway
//! echoes each `session.input` as an output frame at once), against a browser's round trip to
//! a plain WebSocket echo server, and the same path through the raw forwarder of `baseline.rs`.

use std::time::{Duration, Instant};

use anyhow::Context;
use chatcode_core::protocol::{
    BrowserInput, BrowserMessage, Command, SessionInput, encode_data, frame,
};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::target::{Socket, Target, browser, dial};

/// Longest one round trip may take.
const ROUND_TRIP_TIMEOUT: Duration = Duration::from_secs(5);

/// `samples` keystrokes through `target` to its gateway and back, one at a time, after
/// `warmup`.
pub async fn through_gateway(
    target: Target,
    session_id: &str,
    warmup: usize,
    samples: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut socket = browser(target, session_id).await?;
    let input = match target {
        Target::Hub(_) => BrowserMessage::SessionInput(BrowserInput {
            request_id: None,
            session_id: session_id.to_owned(),
            data: encode_data(b"a"),
        })
        .to_json(),
        // The raw forwarder passes text on as it is: send what the gateway reads.
        Target::Baseline(_) => Command::SessionInput(SessionInput {
            request_id: "req-keystroke".to_owned(),
            session_id: session_id.to_owned(),
            data: encode_data(b"a"),
        })
        .to_json(),
    };
    let mut took = Vec::with_capacity(samples);
    for (seq, i) in (0u64..).zip(0..warmup + samples) {
        let started = Instant::now();
        socket.send(Message::text(input.clone())).await?;
        tokio::time::timeout(ROUND_TRIP_TIMEOUT, echo_frame(&mut socket, session_id, seq))
            .await
            .with_context(|| format!("keystroke {i} not echoed within 5 s"))??;
        if i >= warmup {
            took.push(started.elapsed());
        }
    }
    Ok(took)
}

/// Waits for output frame `seq` of `session_id`, skipping the `ack`s.
async fn echo_frame(socket: &mut Socket, session_id: &str, seq: u64) -> anyhow::Result<()> {
    while let Some(message) = socket.next().await {
        if let Message::Binary(bytes) = message? {
            let frame = frame::decode(&bytes).context("a malformed frame")?;
            anyhow::ensure!(
                frame.session_id == session_id && frame.seq == seq && frame.payload == b"a",
                "expected the echo of keystroke {seq}, got seq {}",
                frame.seq
            );
            return Ok(());
        }
    }
    anyhow::bail!("the browser socket closed")
}

/// The same keystroke message's round trip through the echo server at `target`.
pub async fn through_echo(
    target: Target,
    warmup: usize,
    samples: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut socket = dial(target.echo_url()).await?;
    let input = BrowserMessage::SessionInput(BrowserInput {
        request_id: None,
        session_id: "ses-echo".to_owned(),
        data: encode_data(b"a"),
    })
    .to_json();
    let mut took = Vec::with_capacity(samples);
    for i in 0..warmup + samples {
        let started = Instant::now();
        socket.send(Message::text(input.clone())).await?;
        let echoed = tokio::time::timeout(ROUND_TRIP_TIMEOUT, socket.next())
            .await
            .with_context(|| format!("echo {i} not answered within 5 s"))?;
        match echoed {
            Some(Ok(Message::Text(_))) => {}
            other => anyhow::bail!("unexpected echo answer: {other:?}"),
        }
        if i >= warmup {
            took.push(started.elapsed());
        }
    }
    Ok(took)
}
