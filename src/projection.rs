//! What a measured rate means at archive scale: how long one machine, and a
//! number of machines, would need for a given volume of photos or video.
//!
//! Pure arithmetic, kept apart from the measuring so that it can be tested
//! exactly and so that every assumption travels with the result.

use serde::Serialize;

/// Decimal units, as storage is sold: 1 MB = 10^6 bytes, 1 PB = 10^15 bytes.
pub const MB: f64 = 1e6;
pub const TB: f64 = 1e12;
pub const PB: f64 = 1e15;

/// The volumes the projection is made for: the archive sizes quoted when
/// agencies describe their holdings.
pub const VOLUMES: [(&str, f64); 2] = [("400 TB", 400.0 * TB), ("1.4 PB", 1.4 * PB)];

pub const DEFAULT_AVG_PHOTO_MB: f64 = 2.5;
pub const DEFAULT_FPS: f64 = 1.0;
/// 5 Mbit/s: a typical 1080p H.264 stream (phones, body and CCTV cameras
/// record between about 2 and 20 Mbit/s).
pub const DEFAULT_VIDEO_MBIT_S: f64 = 5.0;
/// The time the projection asks the machines to finish in ("how many
/// machines like this one to get through it in a month").
pub const DEFAULT_DAYS: f64 = 30.0;
const DAY: f64 = 86_400.0;

/// Everything the projection assumes, printed and serialised with it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Assumptions {
    /// Measured end-to-end rate of one machine.
    pub images_per_second_per_machine: f64,
    pub machines: u32,
    /// Average size of one photo file, in bytes.
    pub average_photo_bytes: f64,
    /// Frames analysed per second of footage.
    pub video_frames_per_second: f64,
    /// Average video bitrate, in bits per second.
    pub video_bits_per_second: f64,
    /// Frames analysed per second of wall time, measured on videos at
    /// `video_frames_per_second` (decoding and sampling included); `None`
    /// when no video was measured, and a frame is then assumed to cost
    /// what a photo costs.
    pub measured_video_frames_per_second: Option<f64>,
    /// Days the volume is to be analysed in (`machines_for_days`).
    pub days: f64,
}

/// The time to analyse one volume as photos.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PhotoEstimate {
    pub photos: f64,
    pub seconds_one_machine: f64,
    pub seconds_all_machines: f64,
    /// Machines like this one that get through the volume in
    /// `Assumptions::days`; `None` when nothing was analysed.
    pub machines_for_days: Option<u64>,
}

/// The time to analyse one volume as video, sampled at the assumed rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VideoEstimate {
    pub footage_hours: f64,
    pub frames: f64,
    pub seconds_one_machine: f64,
    pub seconds_all_machines: f64,
    /// As for photos.
    pub machines_for_days: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeEstimate {
    pub volume: String,
    pub bytes: f64,
    pub as_photos: PhotoEstimate,
    pub as_video: VideoEstimate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    pub assumptions: Assumptions,
    /// Caveats that are not numbers: what the estimate leaves out.
    pub notes: Vec<&'static str>,
    pub volumes: Vec<VolumeEstimate>,
}

pub const NOTES: [&str; 3] = [
    "decimal units: 1 MB = 10^6 bytes, 1 TB = 10^12 bytes, 1 PB = 10^15 bytes",
    "the rate is the measured end-to-end rate (read, decode, detect) on this machine's images; larger photos decode more slowly",
    "machines scale linearly, with storage and network keeping up",
];

/// The note on video when no video was measured.
pub const VIDEO_AS_PHOTOS: &str =
    "video frames are counted like photos: the cost of decoding the video stream is not included";
/// The note on video when the rate was measured on videos.
pub const VIDEO_MEASURED: &str = "the video rate is the measured one on the given videos (ffmpeg decoding, sampling and analysis of each frame); footage of a larger frame size decodes and reads more slowly";

/// Seconds to analyse `items` at `rate` items per second on each of
/// `machines` machines; infinite when nothing is analysed.
pub fn seconds_for(items: f64, rate: f64, machines: u32) -> f64 {
    if rate <= 0.0 || machines == 0 {
        return f64::INFINITY;
    }
    items / (rate * machines as f64)
}

/// Machines that each take `seconds_one_machine / n` to finish within
/// `days`: the smallest whole number; `None` when one machine never does.
pub fn machines_for(seconds_one_machine: f64, days: f64) -> Option<u64> {
    if !(seconds_one_machine.is_finite() && days > 0.0) {
        return None;
    }
    Some(((seconds_one_machine / (days * DAY)).ceil() as u64).max(1))
}

impl Assumptions {
    pub fn photo(&self, bytes: f64) -> PhotoEstimate {
        let photos = bytes / self.average_photo_bytes;
        PhotoEstimate {
            photos,
            seconds_one_machine: seconds_for(photos, self.images_per_second_per_machine, 1),
            seconds_all_machines: seconds_for(
                photos,
                self.images_per_second_per_machine,
                self.machines,
            ),
            machines_for_days: machines_for(
                seconds_for(photos, self.images_per_second_per_machine, 1),
                self.days,
            ),
        }
    }

    /// Frames analysed per second on one machine: the measured video rate,
    /// or else the photo rate.
    pub fn video_rate(&self) -> f64 {
        self.measured_video_frames_per_second
            .unwrap_or(self.images_per_second_per_machine)
    }

    pub fn video(&self, bytes: f64) -> VideoEstimate {
        let footage_seconds = bytes * 8.0 / self.video_bits_per_second;
        let frames = footage_seconds * self.video_frames_per_second;
        let rate = self.video_rate();
        VideoEstimate {
            footage_hours: footage_seconds / 3600.0,
            frames,
            seconds_one_machine: seconds_for(frames, rate, 1),
            seconds_all_machines: seconds_for(frames, rate, self.machines),
            machines_for_days: machines_for(seconds_for(frames, rate, 1), self.days),
        }
    }

    /// The projection for the standard volumes.
    pub fn project(&self) -> Projection {
        Projection {
            assumptions: *self,
            notes: NOTES
                .into_iter()
                .chain([match self.measured_video_frames_per_second {
                    Some(_) => VIDEO_MEASURED,
                    None => VIDEO_AS_PHOTOS,
                }])
                .collect(),
            volumes: VOLUMES
                .iter()
                .map(|&(label, bytes)| VolumeEstimate {
                    volume: label.to_string(),
                    bytes,
                    as_photos: self.photo(bytes),
                    as_video: self.video(bytes),
                })
                .collect(),
        }
    }
}

/// A duration a person reads at a glance: "42 s", "3.5 h", "12 days",
/// "2.3 years".
pub fn human_duration(seconds: f64) -> String {
    const MIN: f64 = 60.0;
    const HOUR: f64 = 3600.0;
    const YEAR: f64 = 365.25 * DAY;
    if !seconds.is_finite() {
        return "never (no images analysed)".into();
    }
    if seconds < MIN {
        format!("{seconds:.0} s")
    } else if seconds < HOUR {
        format!("{:.1} min", seconds / MIN)
    } else if seconds < 2.0 * DAY {
        format!("{:.1} h", seconds / HOUR)
    } else if seconds < YEAR {
        format!("{:.0} days", seconds / DAY)
    } else {
        format!("{:.1} years", seconds / YEAR)
    }
}

/// A large count with a short suffix: "160 million", "1.2 billion".
pub fn human_count(n: f64) -> String {
    if n >= 1e9 {
        format!("{:.1} billion", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} million", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} thousand", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// "119 days on 1 machine", with more machines ", 12 days on 10", and
/// "; 4 machines for 30 days".
fn machine_times(one: f64, all: f64, machines: u32, for_days: Option<u64>, days: f64) -> String {
    let mut s = format!("{} on 1 machine", human_duration(one));
    if machines > 1 {
        s.push_str(&format!(", {} on {machines}", human_duration(all)));
    }
    if let Some(n) = for_days {
        s.push_str(&format!("; {} for {}", count_machines(n), days_text(days)));
    }
    s
}

/// "1 machine", "1,200 machines".
pub fn count_machines(n: u64) -> String {
    format!(
        "{} machine{}",
        group_thousands(n),
        if n == 1 { "" } else { "s" }
    )
}

/// "1,234,567".
pub fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "30 days", "1 day", "0.5 days".
pub fn days_text(days: f64) -> String {
    if days == 1.0 {
        "1 day".into()
    } else if days.fract() == 0.0 {
        format!("{days:.0} days")
    } else {
        format!("{days} days")
    }
}

impl Projection {
    /// The projection as text, every assumption stated next to the result.
    pub fn human(&self) -> String {
        let a = &self.assumptions;
        let mut s = String::new();
        let video = match a.measured_video_frames_per_second {
            Some(r) => format!(", video at {r:.2} frames/s (measured)"),
            None => String::new(),
        };
        s.push_str(&format!(
            "Scale projection at {:.2} images/s per machine (measured){video}, {} machine{}:\n",
            a.images_per_second_per_machine,
            a.machines,
            if a.machines == 1 { "" } else { "s" }
        ));
        for v in &self.volumes {
            let p = &v.as_photos;
            s.push_str(&format!(
                "  {} of photos at {:.1} MB each = {} photos: {}\n",
                v.volume,
                a.average_photo_bytes / MB,
                human_count(p.photos),
                machine_times(
                    p.seconds_one_machine,
                    p.seconds_all_machines,
                    a.machines,
                    p.machines_for_days,
                    a.days
                ),
            ));
            let vid = &v.as_video;
            s.push_str(&format!(
                "  {} of video at {:.1} Mbit/s = {} hours of footage, {} frames at {} frame/s: {}\n",
                v.volume,
                a.video_bits_per_second / 1e6,
                human_count(vid.footage_hours),
                human_count(vid.frames),
                a.video_frames_per_second,
                machine_times(
                    vid.seconds_one_machine,
                    vid.seconds_all_machines,
                    a.machines,
                    vid.machines_for_days,
                    a.days
                ),
            ));
        }
        for n in &self.notes {
            s.push_str(&format!("  assumes {n}\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assumptions(rate: f64, machines: u32) -> Assumptions {
        Assumptions {
            images_per_second_per_machine: rate,
            machines,
            average_photo_bytes: 2.5 * MB,
            video_frames_per_second: 1.0,
            video_bits_per_second: 5e6,
            measured_video_frames_per_second: None,
            days: DEFAULT_DAYS,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn photos_of_a_volume_at_a_rate() {
        let a = assumptions(20.0, 10);
        // 400 TB / 2.5 MB = 160 million photos; at 20/s: 8 million s.
        let p = a.photo(400.0 * TB);
        assert!(close(p.photos, 160e6));
        assert!(close(p.seconds_one_machine, 8e6));
        assert!(close(p.seconds_all_machines, 8e5));
        // 1.4 PB: 560 million photos, 28 million s on one machine.
        let p = a.photo(1.4 * PB);
        assert!(close(p.photos, 560e6));
        assert!(close(p.seconds_one_machine, 28e6));
    }

    #[test]
    fn video_of_a_volume_at_a_bitrate_and_sampling_rate() {
        let mut a = assumptions(10.0, 4);
        // 400 TB at 5 Mbit/s: 3.2e15 bits / 5e6 = 6.4e8 s of footage.
        let v = a.video(400.0 * TB);
        assert!(close(v.footage_hours, 6.4e8 / 3600.0));
        assert!(close(v.frames, 6.4e8));
        assert!(close(v.seconds_one_machine, 6.4e7));
        assert!(close(v.seconds_all_machines, 1.6e7));
        // Sampling twice as often doubles the frames and the time.
        a.video_frames_per_second = 2.0;
        assert!(close(a.video(400.0 * TB).seconds_one_machine, 1.28e8));
        // A measured video rate replaces the photo rate for video only.
        a.measured_video_frames_per_second = Some(40.0);
        assert!(close(
            a.video(400.0 * TB).seconds_one_machine,
            1.28e9 / 40.0
        ));
        assert!(close(a.photo(400.0 * TB).seconds_one_machine, 16e6));
        let p = a.project();
        assert!(p.notes.contains(&VIDEO_MEASURED));
        assert!(!p.notes.contains(&VIDEO_AS_PHOTOS));
        assert!(p.human().contains("video at 40.00 frames/s (measured)"));
        a.measured_video_frames_per_second = None;
        assert!(a.project().notes.contains(&VIDEO_AS_PHOTOS));
    }

    #[test]
    fn the_standard_volumes_carry_their_assumptions() {
        let a = assumptions(12.5, 3);
        let p = a.project();
        assert_eq!(p.assumptions, a);
        assert_eq!(p.volumes.len(), 2);
        assert_eq!(p.volumes[0].volume, "400 TB");
        assert!(close(p.volumes[1].bytes, 1.4e15));
        let text = p.human();
        for needle in [
            "12.50 images/s",
            "3 machines",
            "2.5 MB",
            "5.0 Mbit/s",
            "1 frame/s",
            "decimal units",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        let v: serde_json::Value = serde_json::to_value(&p).unwrap();
        assert_eq!(v["assumptions"]["machines"], 3);
        assert!(v["volumes"][0]["as_photos"]["seconds_one_machine"].is_number());
    }

    /// The question people ask: how many machines like this one to get
    /// through the archive in a month.
    #[test]
    fn machines_to_finish_in_a_number_of_days() {
        let mut a = assumptions(20.0, 1);
        // 400 TB = 160 million photos at 20/s: 8e6 s on one machine; 30
        // days are 2.592e6 s, so 3.09: 4 machines.
        assert_eq!(a.photo(400.0 * TB).machines_for_days, Some(4));
        // 1.4 PB: 28e6 s / 2.592e6 = 10.8: 11 machines.
        assert_eq!(a.photo(1.4 * PB).machines_for_days, Some(11));
        // As video at 1 frame/s, 5 Mbit/s: 6.4e8 frames at 20/s = 3.2e7 s:
        // 12.3, so 13 machines; with a measured video rate of 40 frames/s,
        // half the time: 7.
        assert_eq!(a.video(400.0 * TB).machines_for_days, Some(13));
        a.measured_video_frames_per_second = Some(40.0);
        assert_eq!(a.video(400.0 * TB).machines_for_days, Some(7));
        // A year instead: 1 machine suffices for 400 TB of photos.
        a.days = 365.0;
        assert_eq!(a.photo(400.0 * TB).machines_for_days, Some(1));
        a.days = 7.0;
        let text = a.project().human();
        assert!(text.contains("machines for 7 days"), "{text}");
        assert_eq!(assumptions(0.0, 1).photo(TB).machines_for_days, None);
        assert_eq!(count_machines(1), "1 machine");
        assert_eq!(count_machines(12_345), "12,345 machines");
    }

    #[test]
    fn no_rate_means_no_finish() {
        assert!(seconds_for(1.0, 0.0, 1).is_infinite());
        assert!(seconds_for(1.0, 1.0, 0).is_infinite());
        assert_eq!(human_duration(f64::INFINITY), "never (no images analysed)");
    }

    #[test]
    fn durations_and_counts_read_at_a_glance() {
        assert_eq!(human_duration(42.0), "42 s");
        assert_eq!(human_duration(90.0), "1.5 min");
        assert_eq!(human_duration(5400.0), "1.5 h");
        assert_eq!(human_duration(10.0 * 86_400.0), "10 days");
        assert_eq!(human_duration(2.0 * 365.25 * 86_400.0), "2.0 years");
        assert_eq!(human_count(160e6), "160.0 million");
        assert_eq!(human_count(1.2e9), "1.2 billion");
        assert_eq!(human_count(12.0), "12");
    }
}
