//! Bench bring-up for the document camera: open a source, grab, process, write the page JPEG.
//!
//! ```text
//! cargo run -p kiosk-camera --example camera_check -- /dev/kiosk/camera [out.jpg] [n_frames]
//! cargo run -p kiosk-camera --example camera_check -- 'drivers/camera/samples/pages/page-%03d.jpg'
//! ```
//!
//! An argument containing `%` is an image sequence, anything else a V4L2 device.
//! The page image may show a real petition: delete it after checking.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use kiosk_camera::{process_page, CameraSource, DocumentCamera, OpenCvCamera, PageError};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let src = args
        .next()
        .context("usage: camera_check <device|pattern> [out.jpg] [n_frames]")?;
    let out = PathBuf::from(args.next().unwrap_or_else(|| "page.jpg".to_owned()));
    let n_frames: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()
        .context("bad frame count")?
        .unwrap_or(5);
    let source = if src.contains('%') {
        CameraSource::ImageSequence(src)
    } else {
        CameraSource::Device(src.into())
    };

    let started = Instant::now();
    let mut cam = OpenCvCamera::open(&source).with_context(|| format!("opening {source}"))?;
    println!("opened {source} in {:?}", started.elapsed());
    for frame_idx in 0..n_frames {
        let started = Instant::now();
        let frame = match cam.grab() {
            Ok(frame) => frame,
            Err(err) => {
                println!("frame {frame_idx}: {err}");
                continue;
            }
        };
        let grabbed = started.elapsed();
        let (w, h) = frame.size();
        let started = Instant::now();
        match process_page(&frame) {
            Ok(page) => {
                println!(
                    "frame {frame_idx}: {w}x{h} grabbed in {grabbed:?}, page {}x{} in {:?}, jpeg {} bytes, corners {:?}",
                    page.width,
                    page.height,
                    started.elapsed(),
                    page.jpeg.len(),
                    page.corners
                );
                std::fs::write(&out, &page.jpeg)
                    .with_context(|| format!("writing {}", out.display()))?;
                println!("wrote {}", out.display());
                return Ok(());
            }
            Err(PageError::NoDocument) => {
                println!("frame {frame_idx}: {w}x{h}, no document in view")
            }
            Err(err) => println!("frame {frame_idx}: {err}"),
        }
    }
    anyhow::bail!("no page found in {n_frames} frames")
}
