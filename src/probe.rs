//! Where one image's time goes, and what each model was fed. The pipeline
//! reports its stages and model inputs here; nothing is recorded unless a
//! recording was started on the calling thread (`onlooker bench` does, one
//! image at a time), so an ordinary run pays one thread-local check per
//! stage.
//!
//! `bench` uses the recorded inputs for its inference-only bound: the very
//! tensors the pipeline built (faces at their working size, attribute crops,
//! object tiles) run again through the same sessions, so the bound measures
//! the same inference work as the end-to-end figure.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use ndarray::Array4;

use crate::manifest::ModelId;

/// The stages of one image, in the order the pipeline runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading the file, its metadata, decoding to upright RGB.
    Decode,
    /// Resizing to the working size and writing the input tensor.
    FacePreprocess,
    /// The model, and reading its outputs into candidates.
    FaceInference,
    /// NMS, mapping back to image pixels, quality measures per face.
    FacePostprocess,
    /// Alignment transforms, warped crops, input tensors.
    AttributePreprocess,
    /// Age, gender and expression models, outputs read.
    AttributeInference,
    /// Letterboxing (and tiling) into input tensors.
    ObjectPreprocess,
    /// The model on the whole image (and tiles), outputs into candidates.
    ObjectInference,
    /// NMS, cross-class and tile merging, mapping back.
    ObjectPostprocess,
    /// Text detection: resize, the model, DB post-processing to regions.
    TextDetect,
    /// Text lines: upright crops, the direction classifier, recognition,
    /// CTC decoding, reading order.
    TextRecognise,
    /// Image tags: the centre crop, the classifier, softmax and top classes.
    Tags,
}

pub const STAGES: usize = 12;

impl Stage {
    pub const ALL: [Stage; STAGES] = [
        Stage::Decode,
        Stage::FacePreprocess,
        Stage::FaceInference,
        Stage::FacePostprocess,
        Stage::AttributePreprocess,
        Stage::AttributeInference,
        Stage::ObjectPreprocess,
        Stage::ObjectInference,
        Stage::ObjectPostprocess,
        Stage::TextDetect,
        Stage::TextRecognise,
        Stage::Tags,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::FacePreprocess => "face_preprocess",
            Stage::FaceInference => "face_inference",
            Stage::FacePostprocess => "face_postprocess",
            Stage::AttributePreprocess => "attribute_preprocess",
            Stage::AttributeInference => "attribute_inference",
            Stage::ObjectPreprocess => "object_preprocess",
            Stage::ObjectInference => "object_inference",
            Stage::ObjectPostprocess => "object_postprocess",
            Stage::TextDetect => "text_detect",
            Stage::TextRecognise => "text_recognise",
            Stage::Tags => "tags",
        }
    }
}

/// What one recording saw: time per stage (wall and thread CPU, in
/// milliseconds) and, when asked for, every model input.
#[derive(Debug, Default)]
pub struct Record {
    pub wall_ms: [f64; STAGES],
    pub cpu_ms: [f64; STAGES],
    pub inputs: Vec<(ModelId, Array4<f32>)>,
    /// Faces that had attributes computed.
    pub attribute_faces: usize,
    /// Faces embedded by the identity model, and the time the identity
    /// step took (gate, crops not shared, the model), wall and CPU ms.
    pub identity_faces: usize,
    pub identity_ms: f64,
    pub identity_cpu_ms: f64,
    /// Lines of text read (kept after the score threshold).
    pub text_lines: usize,
}

struct Recording {
    record: Record,
    keep_inputs: bool,
}

thread_local! {
    static CURRENT: RefCell<Option<Recording>> = const { RefCell::new(None) };
}

/// Starts recording on this thread (replacing any recording in progress).
pub fn start(keep_inputs: bool) {
    CURRENT.with(|c| {
        *c.borrow_mut() = Some(Recording {
            record: Record::default(),
            keep_inputs,
        })
    });
}

/// Ends this thread's recording and returns it.
pub fn finish() -> Option<Record> {
    CURRENT.with(|c| c.borrow_mut().take().map(|r| r.record))
}

fn recording() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

/// A started stage clock; `None` when nothing is recorded.
pub struct Clock(Option<(Instant, Duration)>);

/// Starts timing a stage (a no-op unless recording).
pub fn clock() -> Clock {
    Clock(recording().then(|| (Instant::now(), thread_cpu_time())))
}

impl Clock {
    /// Adds the time since [`clock`] to `stage`.
    pub fn stop(self, stage: Stage) {
        self.add(|r, wall, cpu| {
            let i = stage as usize;
            r.wall_ms[i] += wall;
            r.cpu_ms[i] += cpu;
        });
    }

    /// Adds the time since [`clock`] to the identity step, which embedded
    /// `faces` faces.
    pub fn stop_identity(self, faces: usize) {
        self.add(|r, wall, cpu| {
            r.identity_faces += faces;
            r.identity_ms += wall;
            r.identity_cpu_ms += cpu;
        });
    }

    /// Hands the wall and CPU milliseconds since [`clock`] to `f` with this
    /// thread's record (nothing when not recording).
    fn add(self, f: impl FnOnce(&mut Record, f64, f64)) {
        let Some((wall, cpu)) = self.0 else {
            return;
        };
        let wall = ms(wall.elapsed());
        let cpu = ms(thread_cpu_time().saturating_sub(cpu));
        CURRENT.with(|c| {
            if let Some(r) = c.borrow_mut().as_mut() {
                f(&mut r.record, wall, cpu);
            }
        });
    }
}

/// Times `f` as (part of) `stage`.
pub fn time<T>(stage: Stage, f: impl FnOnce() -> T) -> T {
    let c = clock();
    let v = f();
    c.stop(stage);
    v
}

/// Notes the tensor about to be fed to `model` (copied only when the
/// recording keeps inputs; call it outside any stage clock).
pub fn input(model: ModelId, tensor: &Array4<f32>) {
    CURRENT.with(|c| {
        if let Some(r) = c.borrow_mut().as_mut().filter(|r| r.keep_inputs) {
            r.record.inputs.push((model, tensor.clone()));
        }
    });
}

/// Counts faces that had attributes computed.
pub fn attribute_faces(n: usize) {
    CURRENT.with(|c| {
        if let Some(r) = c.borrow_mut().as_mut() {
            r.record.attribute_faces += n;
        }
    });
}

/// Counts lines of text read.
pub fn text_lines(n: usize) {
    CURRENT.with(|c| {
        if let Some(r) = c.borrow_mut().as_mut() {
            r.record.text_lines += n;
        }
    });
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(unix)]
fn cpu_clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock ids used are
    // supported on every Linux and BSD.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// CPU time used so far by the calling thread.
#[cfg(unix)]
pub fn thread_cpu_time() -> Duration {
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time used so far by the whole process, every thread.
#[cfg(unix)]
pub fn process_cpu_time() -> Duration {
    cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

#[cfg(not(unix))]
pub fn thread_cpu_time() -> Duration {
    Duration::ZERO
}

#[cfg(not(unix))]
pub fn process_cpu_time() -> Duration {
    Duration::ZERO
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_recorded_unless_started_on_this_thread() {
        time(Stage::Decode, || ());
        input(ModelId::YunetDynamic, &Array4::zeros((1, 3, 2, 2)));
        assert!(finish().is_none());

        start(true);
        time(Stage::FaceInference, || {
            std::thread::sleep(Duration::from_millis(5))
        });
        time(Stage::FaceInference, || {
            std::thread::sleep(Duration::from_millis(5))
        });
        input(ModelId::Yolox, &Array4::zeros((1, 3, 4, 4)));
        attribute_faces(2);
        text_lines(3);
        // Another thread records nothing into this one.
        std::thread::spawn(|| time(Stage::Decode, || ()))
            .join()
            .unwrap();
        let r = finish().unwrap();
        assert!(r.wall_ms[Stage::FaceInference as usize] >= 10.0, "{r:?}");
        assert_eq!(r.wall_ms[Stage::Decode as usize], 0.0);
        assert_eq!(r.inputs.len(), 1);
        assert_eq!(r.inputs[0].0, ModelId::Yolox);
        assert_eq!(r.attribute_faces, 2);
        assert_eq!(r.text_lines, 3);
        assert!(finish().is_none(), "finished once");

        start(false);
        input(ModelId::YunetDynamic, &Array4::zeros((1, 3, 2, 2)));
        assert!(finish().unwrap().inputs.is_empty());
    }
}
