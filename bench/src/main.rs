//! `sluice-bench`: drives a running broker with librdkafka (the `rdkafka`
//! crate) and prints one JSON line of results per run. `bench/run.sh`
//! starts the brokers, runs the scenarios and writes `docs/benchmarks.md`.
//!
//! Commands:
//! - `produce`: N messages of S bytes (acks, linger, batch size,
//!   compression, partitions, rate cap, several clients); msgs/s, MB/s and
//!   produce latency (send → acknowledgement) percentiles;
//! - `consume`: N messages from offset 0 of every partition; msgs/s, MB/s;
//! - `e2e`: produce at a fixed rate while consuming; end-to-end latency
//!   (send → consumed) percentiles;
//! - `startup`: start a broker binary and time process start → first
//!   Metadata response, then its idle RSS.
//!
//! With `--broker-pid` every run also reports the broker's CPU time and RSS
//! from `/proc`, next to this client's own CPU time.

mod procfs;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

#[derive(Parser)]
#[command(about = "Load tool for Sluice benchmarks (librdkafka)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// Broker address
    #[arg(long, default_value = "127.0.0.1:9092")]
    bootstrap: String,
    /// Topic (auto-created by the broker with its default partition count)
    #[arg(long)]
    topic: String,
    /// Partitions to spread messages over (see `--spread`)
    #[arg(long, default_value_t = 1)]
    partitions: i32,
    /// Messages to send or read
    #[arg(long, default_value_t = 100_000)]
    messages: u64,
    /// Bytes per message value
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// The broker's process id, to sample its CPU time and RSS
    #[arg(long)]
    broker_pid: Option<u32>,
    /// A label for the result line
    #[arg(long, default_value = "")]
    label: String,
}

#[derive(clap::Args, Clone)]
struct ProduceOpts {
    #[arg(long, default_value = "all")]
    acks: String,
    #[arg(long, default_value_t = 5)]
    linger_ms: u32,
    #[arg(long, default_value_t = 1_000_000)]
    batch_size: u32,
    #[arg(long, default_value = "none")]
    compression: String,
    /// Messages per second in all (0 = as fast as possible)
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Producer instances (one connection each), sharing the messages
    #[arg(long, default_value_t = 1)]
    clients: u32,
    /// How messages are spread over the partitions
    #[arg(long, value_enum, default_value_t = Spread::Sticky)]
    spread: Spread,
}

/// Which partition each message goes to. Both cycle through every
/// partition in order, so each gets the same share.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
enum Spread {
    /// Runs of 16 KiB of messages to one partition, then the next: how
    /// Kafka's default partitioner places records without a key (the Java
    /// client's uniform sticky partitioner switches partition after
    /// `batch.size`, 16 KiB by default, KIP-794; librdkafka sticks to one
    /// partition for `sticky.partitioning.linger.ms`).
    Sticky,
    /// Each message to the next partition: how records with distinct keys
    /// land, and the most requests per message for a librdkafka producer.
    Message,
}

/// Bytes sent to one partition before moving on, with `Spread::Sticky`.
const STICKY_BYTES: usize = 16 * 1024;

/// The partition of the `i`-th message.
fn partition_of(i: u64, size: usize, partitions: i32, spread: Spread) -> i32 {
    let run = match spread {
        Spread::Sticky => (STICKY_BYTES / size.max(1)).max(1) as u64,
        Spread::Message => 1,
    };
    ((i / run) % partitions.max(1) as u64) as i32
}

#[derive(Subcommand)]
enum Command {
    Produce {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        opts: ProduceOpts,
    },
    Consume {
        #[command(flatten)]
        common: Common,
    },
    E2e {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        opts: ProduceOpts,
    },
    Startup {
        /// The broker binary
        #[arg(long)]
        sluice_bin: String,
        /// Extra arguments for it
        #[arg(long, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
        #[arg(long, default_value = "")]
        label: String,
    },
}

fn main() {
    let result = match Cli::parse().command {
        Command::Produce { common, opts } => produce(&common, &opts),
        Command::Consume { common } => consume(&common),
        Command::E2e { common, opts } => e2e(&common, &opts),
        Command::Startup {
            sluice_bin,
            args,
            label,
        } => startup(&sluice_bin, &args, &label),
    };
    match result {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("sluice-bench: {e}");
            std::process::exit(1);
        }
    }
}

/// Latencies in microseconds, and delivery failures.
#[derive(Default)]
struct Deliveries {
    latencies_us: Mutex<Vec<u32>>,
    failed: AtomicU64,
    done: AtomicU64,
}

struct Ctx(Arc<Deliveries>);

impl ClientContext for Ctx {}

impl ProducerContext for Ctx {
    type DeliveryOpaque = Box<Instant>;

    fn delivery(&self, result: &DeliveryResult<'_>, sent: Box<Instant>) {
        let us = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        if result.is_err() {
            self.0.failed.fetch_add(1, Ordering::Relaxed);
        } else if let Ok(mut l) = self.0.latencies_us.lock() {
            l.push(us);
        }
        self.0.done.fetch_add(1, Ordering::Relaxed);
    }
}

fn producer_config(common: &Common, opts: &ProduceOpts) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &common.bootstrap)
        .set("broker.address.family", "v4")
        .set("acks", &opts.acks)
        .set("linger.ms", opts.linger_ms.to_string())
        .set("batch.size", opts.batch_size.to_string())
        .set("compression.type", &opts.compression)
        .set("queue.buffering.max.messages", "2000000")
        .set("queue.buffering.max.kbytes", "2097151")
        .set("message.timeout.ms", "120000");
    c
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// A value of `size` bytes that starts with the send time (µs since the epoch).
fn payload(size: usize, i: u64) -> Vec<u8> {
    let mut v = vec![b'x'; size.max(16)];
    v[..8].copy_from_slice(&now_us().to_be_bytes());
    v[8..16].copy_from_slice(&i.to_be_bytes());
    v.truncate(size.max(16));
    v
}

/// Sends `count` messages from `producer`, paced to `rate` per second.
fn send_all(
    producer: &ThreadedProducer<Ctx>,
    common: &Common,
    opts: &ProduceOpts,
    first: u64,
    count: u64,
) -> Result<(), String> {
    let rate = opts.rate / opts.clients.max(1) as u64;
    let start = Instant::now();
    for i in first..first + count {
        if rate > 0 {
            let due = start + Duration::from_secs_f64((i - first) as f64 / rate as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let value = payload(common.size, i);
        let partition = partition_of(i, common.size, common.partitions, opts.spread);
        let mut pending = Some(Box::new(Instant::now()));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let sent = pending.take().unwrap_or_else(|| Box::new(Instant::now()));
            let record = BaseRecord::<(), [u8], Box<Instant>>::with_opaque_to(&common.topic, sent)
                .partition(partition)
                .payload(&value);
            match producer.send(record) {
                Ok(()) => break,
                Err((e, rec)) => {
                    if Instant::now() > deadline {
                        return Err(format!("send: {e}"));
                    }
                    pending = Some(rec.delivery_opaque);
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
    }
    Ok(())
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)]) / 1000.0
}

fn warm_up(common: &Common, opts: &ProduceOpts) -> Result<(), String> {
    // Metadata and topic creation before the clock starts.
    let mut c = producer_config(common, opts);
    c.set("linger.ms", "0");
    let p: ThreadedProducer<Ctx> = c
        .create_with_context(Ctx(Arc::default()))
        .map_err(|e| e.to_string())?;
    send_warm_up_message(&p, common)
}

/// One 16-byte message to partition 0, delivered (consumers skip it: its
/// size is not the benchmark's).
fn send_warm_up_message(p: &ThreadedProducer<Ctx>, common: &Common) -> Result<(), String> {
    let value = payload(16, u64::MAX);
    p.send(
        BaseRecord::<(), [u8], Box<Instant>>::with_opaque_to(
            &common.topic,
            Box::new(Instant::now()),
        )
        .partition(0)
        .payload(&value),
    )
    .map_err(|(e, _)| e.to_string())?;
    p.flush(Duration::from_secs(30)).map_err(|e| e.to_string())
}

fn produce(common: &Common, opts: &ProduceOpts) -> Result<String, String> {
    warm_up(common, opts)?;
    let deliveries = Arc::new(Deliveries::default());
    let clients = opts.clients.max(1) as u64;
    let producers: Vec<ThreadedProducer<Ctx>> = (0..clients)
        .map(|_| {
            producer_config(common, opts)
                .create_with_context(Ctx(Arc::clone(&deliveries)))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let sampler = procfs::Sampler::start(common.broker_pid);
    let start = Instant::now();
    let per_client = common.messages / clients;
    std::thread::scope(|s| -> Result<(), String> {
        let handles: Vec<_> = producers
            .iter()
            .enumerate()
            .map(|(n, p)| {
                let count = if n as u64 == clients - 1 {
                    common.messages - per_client * (clients - 1)
                } else {
                    per_client
                };
                s.spawn(move || send_all(p, common, opts, n as u64 * per_client, count))
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| "sender thread panicked".to_string())??;
        }
        Ok(())
    })?;
    for p in &producers {
        p.flush(Duration::from_secs(120))
            .map_err(|e| e.to_string())?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let cost = sampler.finish();
    let failed = deliveries.failed.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(format!("{failed} messages were not delivered"));
    }
    let mut lat = deliveries
        .latencies_us
        .lock()
        .map_err(|_| "poisoned")?
        .clone();
    lat.sort_unstable();
    Ok(result_line("produce", common, seconds, Some(&lat), cost))
}

fn consumer(common: &Common) -> Result<BaseConsumer, String> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &common.bootstrap)
        .set("broker.address.family", "v4")
        .set("group.id", "sluice-bench")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "50")
        // librdkafka stops fetching for fetch.queue.backoff.ms (1 s) once
        // queued.min.messages are waiting in the client: with 100-byte
        // messages that idles the broker most of the time.
        .set("queued.min.messages", "1000000")
        .set("fetch.queue.backoff.ms", "5");
    let consumer: BaseConsumer = c.create().map_err(|e| e.to_string())?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..common.partitions.max(1) {
        tpl.add_partition_offset(&common.topic, p, Offset::Beginning)
            .map_err(|e| e.to_string())?;
    }
    consumer.assign(&tpl).map_err(|e| e.to_string())?;
    Ok(consumer)
}

fn consume(common: &Common) -> Result<String, String> {
    let consumer = consumer(common)?;
    let sampler = procfs::Sampler::start(common.broker_pid);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(300);
    let mut got = 0u64;
    while got < common.messages {
        if Instant::now() > deadline {
            return Err(format!(
                "only {got} of {} messages arrived",
                common.messages
            ));
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) if m.payload().is_some_and(|p| p.len() == common.size) => got += 1,
            Some(Ok(_)) => {} // the warm-up message
            Some(Err(e)) => return Err(e.to_string()),
            None => {}
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(result_line(
        "consume",
        common,
        seconds,
        None,
        sampler.finish(),
    ))
}

fn e2e(common: &Common, opts: &ProduceOpts) -> Result<String, String> {
    warm_up(common, opts)?;
    let deliveries = Arc::new(Deliveries::default());
    let producer: ThreadedProducer<Ctx> = producer_config(common, opts)
        .create_with_context(Ctx(Arc::clone(&deliveries)))
        .map_err(|e| e.to_string())?;
    // This producer is connected, with metadata, before the clock starts.
    send_warm_up_message(&producer, common)?;
    let consumer = consumer(common)?;
    // And the consumer is fetching: it has read a warm-up message.
    // (librdkafka looks up the start offset only after its metadata
    // arrives, on a 500 ms retry timer; start-up is not end-to-end latency.)
    let ready_by = Instant::now() + Duration::from_secs(30);
    loop {
        if Instant::now() > ready_by {
            return Err("the consumer did not receive the warm-up message".into());
        }
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            m.map_err(|e| e.to_string())?;
            break;
        }
    }
    let sampler = procfs::Sampler::start(common.broker_pid);
    let start = Instant::now();
    let latencies = std::thread::scope(|s| -> Result<Vec<u32>, String> {
        let sender = s.spawn(|| send_all(&producer, common, opts, 0, common.messages));
        let mut lat = Vec::with_capacity(common.messages as usize);
        let deadline = Instant::now() + Duration::from_secs(300);
        while (lat.len() as u64) < common.messages && Instant::now() < deadline {
            if let Some(m) = consumer.poll(Duration::from_millis(100)) {
                let m = m.map_err(|e| e.to_string())?;
                let Some(p) = m.payload().filter(|p| p.len() == common.size) else {
                    continue;
                };
                let sent = u64::from_be_bytes(p[..8].try_into().map_err(|_| "short payload")?);
                let us = now_us().saturating_sub(sent);
                lat.push(u32::try_from(us).unwrap_or(u32::MAX));
            }
        }
        sender.join().map_err(|_| "sender panicked".to_string())??;
        Ok(lat)
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let mut lat = latencies;
    if (lat.len() as u64) < common.messages {
        return Err(format!("only {} messages arrived", lat.len()));
    }
    lat.sort_unstable();
    Ok(result_line(
        "e2e",
        common,
        seconds,
        Some(&lat),
        sampler.finish(),
    ))
}

fn result_line(
    kind: &str,
    common: &Common,
    seconds: f64,
    latencies: Option<&[u32]>,
    cost: procfs::Cost,
) -> String {
    let bytes = common.messages as f64 * common.size as f64;
    let mut fields = vec![
        format!("\"kind\":\"{kind}\""),
        format!("\"label\":\"{}\"", common.label.replace('"', "'")),
        format!("\"messages\":{}", common.messages),
        format!("\"size\":{}", common.size),
        format!("\"seconds\":{seconds:.4}"),
        format!("\"msgs_per_s\":{:.1}", common.messages as f64 / seconds),
        format!("\"mb_per_s\":{:.3}", bytes / seconds / 1e6),
    ];
    if let Some(l) = latencies {
        fields.push(format!("\"p50_ms\":{:.3}", percentile(l, 50.0)));
        fields.push(format!("\"p99_ms\":{:.3}", percentile(l, 99.0)));
        fields.push(format!("\"p999_ms\":{:.3}", percentile(l, 99.9)));
    }
    let secs =
        |d: Option<Duration>| d.map_or("null".to_string(), |d| format!("{:.3}", d.as_secs_f64()));
    fields.push(format!("\"broker_cpu_s\":{}", secs(cost.broker_cpu)));
    fields.push(format!("\"client_cpu_s\":{}", secs(cost.client_cpu)));
    let kib = |k: Option<u64>| k.map_or("null".to_string(), |k| k.to_string());
    fields.push(format!("\"broker_rss_kib\":{}", kib(cost.broker_rss_kib)));
    fields.push(format!(
        "\"broker_peak_rss_kib\":{}",
        kib(cost.broker_peak_rss_kib)
    ));
    format!("{{{}}}", fields.join(","))
}

/// Metadata v0 (every topic), correlation id 1, client id "b": length 15,
/// api key 3, version 0, correlation id, client id, empty topic array.
const METADATA_V0: [u8; 19] = [0, 0, 0, 15, 0, 3, 0, 0, 0, 0, 0, 1, 0, 1, b'b', 0, 0, 0, 0];

fn metadata_answers(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(&METADATA_V0).is_err() {
        return false;
    }
    let mut head = [0u8; 8];
    if s.read_exact(&mut head).is_err() {
        return false;
    }
    head[4..8] == [0, 0, 0, 1]
}

fn startup(bin: &str, args: &[String], label: &str) -> Result<String, String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let dir = std::env::temp_dir().join(format!(
        "sluice-bench-startup-{}-{port}",
        std::process::id()
    ));
    let start = Instant::now();
    let mut child = std::process::Command::new(bin)
        .arg("--listen")
        .arg(&addr)
        .args(["--http-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&dir)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("{bin}: {e}"))?;
    let deadline = start + Duration::from_secs(10);
    let ready = loop {
        if metadata_answers(&addr) {
            break Some(start.elapsed());
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_micros(250));
    };
    std::thread::sleep(Duration::from_secs(1));
    let rss = procfs::rss_kib(&child.id().to_string());
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let ready = ready.ok_or("the broker did not answer Metadata within 10 s")?;
    Ok(format!(
        "{{\"kind\":\"startup\",\"label\":\"{label}\",\"startup_ms\":{:.3},\"idle_rss_kib\":{},\"idle_peak_rss_kib\":{}}}",
        ready.as_secs_f64() * 1000.0,
        rss.map_or("null".into(), |r| r.0.to_string()),
        rss.map_or("null".into(), |r| r.1.to_string()),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sticky_spread_sends_16_kib_runs_and_gives_every_partition_the_same_share() {
        let mut count = vec![0u32; 1000];
        let mut switches = 0;
        let mut last = -1;
        for i in 0..1_000_000u64 {
            let p = partition_of(i, 100, 1000, Spread::Sticky);
            count[p as usize] += 1;
            if p != last {
                switches += 1;
                last = p;
            }
        }
        // 163 messages of 100 B to a partition, then the next one.
        assert_eq!(switches, 1_000_000u64.div_ceil(163));
        let (min, max) = (count.iter().min().unwrap(), count.iter().max().unwrap());
        assert!(max - min <= 163, "shares {min}..{max}");
    }

    #[test]
    fn message_spread_sends_each_message_to_the_next_partition() {
        let ps: Vec<i32> = (0..10)
            .map(|i| partition_of(i, 100, 8, Spread::Message))
            .collect();
        assert_eq!(ps, [0, 1, 2, 3, 4, 5, 6, 7, 0, 1]);
        assert_eq!(partition_of(5, 100, 1, Spread::Sticky), 0);
    }
}
