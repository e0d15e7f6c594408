//! `bench-plot WIRE.json OUT.png`: the HDR-style latency plot of `cargo xtask bench wire`'s
//! results: latency (log scale) against percentile, the percentile axis stretched towards
//! the tail as `-log10(1 - p)` (labels 0 %, 90 %, 99 %, 99.9 %, ...), one line per
//! configuration. Text needs a TrueType font: `BENCH_PLOT_FONT` or a DejaVu/Liberation font
//! from the usual system paths.
#![allow(clippy::unwrap_used, reason = "tool: a panic is the error report")]

use anyhow::{Context as _, bail};
use plotters::prelude::*;
use serde_json::Value;

const FONT_PATHS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

fn font() -> anyhow::Result<&'static [u8]> {
    let candidates = std::env::var("BENCH_PLOT_FONT")
        .ok()
        .into_iter()
        .chain(FONT_PATHS.iter().map(|path| (*path).to_owned()));
    for path in candidates {
        if let Ok(bytes) = std::fs::read(&path) {
            return Ok(Box::leak(bytes.into_boxed_slice()));
        }
    }
    bail!("no TrueType font found (set BENCH_PLOT_FONT)")
}

/// Percentile (0..=100) to the stretched x coordinate.
fn nines(percentile: f64) -> f64 {
    let rest = (1.0 - percentile / 100.0).max(1e-7);
    -rest.log10()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        bail!("usage: bench-plot WIRE.json OUT.png");
    };
    let wire: Value = serde_json::from_str(
        &std::fs::read_to_string(input).with_context(|| format!("reading {input}"))?,
    )?;
    plotters::style::register_font("sans-serif", FontStyle::Normal, font()?)
        .map_err(|_| anyhow::anyhow!("font not usable"))?;
    let configs = ["floor", "afxdp", "socket", "tokio"];
    let colors = [BLACK, BLUE, RED, GREEN];
    let mut series = Vec::new();
    let (mut low, mut high) = (f64::MAX, 1.0f64);
    let mut max_x = 3.0f64;
    for config in configs {
        let points: Vec<(f64, f64)> = wire["configs"][config]["curve"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|point| Some((point[0].as_f64()?, point[1].as_f64()?)))
            .filter(|&(percentile, ns)| percentile < 100.0 && ns > 0.0)
            .map(|(percentile, ns)| (nines(percentile), ns / 1000.0))
            .collect();
        for &(x, us) in &points {
            low = low.min(us);
            high = high.max(us);
            max_x = max_x.max(x);
        }
        series.push((config, points));
    }
    if series.iter().all(|(_, points)| points.is_empty()) {
        bail!("{input} has no latency curves");
    }
    let root = BitMapBackend::new(output, (1000, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let machine = &wire["machine"];
    let caption = format!(
        "wire-to-wire latency (tick sent -> order received), {}",
        machine["cpu"].as_str().unwrap_or("")
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..max_x.ceil(), (low * 0.8..high * 1.25).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (µs, log)")
        .x_labels(max_x.ceil() as usize + 1)
        .x_label_formatter(&|x| {
            let percentile = 100.0 * (1.0 - 10f64.powf(-x));
            if *x < 0.5 {
                "0%".to_owned()
            } else {
                let text = format!("{percentile:.5}");
                format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
            }
        })
        .y_label_formatter(&|us| format!("{us:.0}"))
        .draw()?;
    for ((config, points), color) in series.into_iter().zip(colors) {
        let label = {
            let row = &wire["configs"][config];
            format!(
                "{config}: p50 {:.1} µs, p99 {:.1} µs",
                row["p50_ns"].as_f64().unwrap_or(0.0) / 1000.0,
                row["p99_ns"].as_f64().unwrap_or(0.0) / 1000.0
            )
        };
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(
            points
                .into_iter()
                .map(|point| Circle::new(point, 3, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    println!("wrote {output}");
    Ok(())
}
