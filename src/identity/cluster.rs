//! Who is who across a batch: average-linkage agglomerative clustering of
//! face embeddings with a similarity threshold and a cannot-link rule.
//!
//! - Two groups merge only when the mean cosine similarity over all their
//!   cross pairs reaches the threshold. One close pair cannot join two
//!   people: a look-alike chain A~B~C with A and C far apart stops at A+B,
//!   because C's mean similarity to {A, B} is pulled down by A. Single
//!   linkage and DBSCAN-style "within eps of any member" rules (as in Immich)
//!   join the whole chain.
//! - Two faces in one photo are never one person (unless the photo repeats
//!   itself, a person appears once per photo), so groups that share a photo
//!   never merge.
//! - Deterministic: the best pair merges first; equal similarities go to
//!   the pair of groups that appear earliest in input order. Nothing
//!   depends on threads. Person ids are numbered from 1 by each person's
//!   first face in input order.
//!
//! Cost: every pair's similarity is computed once (N(N-1)/2 dot products
//! of 128 numbers, in O(N) memory), and faces are split into the connected
//! components of the graph "similarity >= threshold": two groups in
//! different components can never reach the threshold on average, so each
//! component is clustered on its own, in O(m^2) memory and, typically,
//! O(m^2) time for a component of m faces (nearest-neighbour caching; worst
//! case O(m^3)). A batch of 10,000 faces is 50 million dot products, a few
//! seconds; archives of millions need an approximate nearest-neighbour
//! index to find the edges instead of all pairs.

use super::{dot, DIM};

/// One face as the clustering sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceRecord {
    /// L2-normalised embedding.
    pub embedding: [f32; DIM],
    /// Index of the image in the batch: faces of one image never merge.
    pub image: usize,
    /// Index of the face in its image (for the caller; not used here).
    pub face: usize,
}

/// Person id (from 1) of each record, in input order.
pub fn cluster(records: &[FaceRecord], threshold: f32) -> Vec<u32> {
    let n = records.len();
    // Connected components of the threshold graph (union-find).
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            if records[i].image != records[j].image
                && dot(&records[i].embedding, &records[j].embedding) >= threshold
            {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut components: Vec<Vec<usize>> = Vec::new();
    let mut slot = vec![usize::MAX; n];
    for i in 0..n {
        let r = root(&mut parent, i);
        if slot[r] == usize::MAX {
            slot[r] = components.len();
            components.push(Vec::new());
        }
        components[slot[r]].push(i);
    }

    // Cluster each component; label[i] = smallest input index in i's group.
    let mut label = vec![0usize; n];
    for members in &components {
        for group in average_linkage(records, members, threshold) {
            let first = group[0];
            for &i in &group {
                label[i] = first;
            }
        }
    }

    // Ids by first appearance.
    let mut id_of = vec![0u32; n];
    let mut next = 0u32;
    let mut out = Vec::with_capacity(n);
    for &first in &label {
        if id_of[first] == 0 {
            next += 1;
            id_of[first] = next;
        }
        out.push(id_of[first]);
    }
    out
}

/// Average linkage over one component. `members` are input indices in
/// increasing order; returns the groups, each in increasing order.
fn average_linkage(records: &[FaceRecord], members: &[usize], threshold: f32) -> Vec<Vec<usize>> {
    let m = members.len();
    if m == 1 {
        return vec![members.to_vec()];
    }
    // sum[i][j]: sum of similarities over all cross pairs of groups i, j
    // (f64: the sums of a large component add many terms). A group lives in
    // the slot of its earliest member, so slot order is input order.
    let mut sum = vec![0f64; m * m];
    let mut blocked = vec![false; m * m];
    for a in 0..m {
        for b in a + 1..m {
            let (ra, rb) = (&records[members[a]], &records[members[b]]);
            let s = dot(&ra.embedding, &rb.embedding) as f64;
            sum[a * m + b] = s;
            sum[b * m + a] = s;
            let same = ra.image == rb.image;
            blocked[a * m + b] = same;
            blocked[b * m + a] = same;
        }
    }
    let mut size = vec![1usize; m];
    let mut alive = vec![true; m];
    let mut groups: Vec<Vec<usize>> = members.iter().map(|&i| vec![i]).collect();
    let t = threshold as f64;

    let avg = |sum: &[f64], size: &[usize], a: usize, b: usize| {
        sum[a * m + b] / (size[a] * size[b]) as f64
    };
    // Best partner of slot a among live slots: highest mean, then lowest
    // slot. None when every partner is blocked.
    let best = |sum: &[f64], size: &[usize], alive: &[bool], blocked: &[bool], a: usize| {
        let mut out: Option<(usize, f64)> = None;
        for b in 0..m {
            if b == a || !alive[b] || blocked[a * m + b] {
                continue;
            }
            let s = avg(sum, size, a, b);
            if out.is_none_or(|(_, o)| s > o) {
                out = Some((b, s));
            }
        }
        out
    };
    let mut nn: Vec<Option<(usize, f64)>> = (0..m)
        .map(|a| best(&sum, &size, &alive, &blocked, a))
        .collect();

    loop {
        // The global best pair: highest mean, then the lexicographically
        // smallest (earlier slot, later slot).
        let mut pick: Option<(usize, usize, f64)> = None;
        for a in 0..m {
            if !alive[a] {
                continue;
            }
            let Some((b, s)) = nn[a] else { continue };
            let (lo, hi) = (a.min(b), a.max(b));
            let better = match pick {
                None => true,
                Some((plo, phi, ps)) => s > ps || (s == ps && (lo, hi) < (plo, phi)),
            };
            if better {
                pick = Some((lo, hi, s));
            }
        }
        let Some((a, b, s)) = pick else { break };
        if s < t {
            break;
        }
        // Merge b into a (a is the earlier slot, so it keeps the earliest
        // member).
        alive[b] = false;
        for k in 0..m {
            if k == a || k == b || !alive[k] {
                continue;
            }
            let v = sum[a * m + k] + sum[b * m + k];
            sum[a * m + k] = v;
            sum[k * m + a] = v;
            let bl = blocked[a * m + k] || blocked[b * m + k];
            blocked[a * m + k] = bl;
            blocked[k * m + a] = bl;
        }
        size[a] += size[b];
        let moved = std::mem::take(&mut groups[b]);
        groups[a].extend(moved);
        nn[b] = None;
        nn[a] = best(&sum, &size, &alive, &blocked, a);
        for k in 0..m {
            if k == a || !alive[k] {
                continue;
            }
            match nn[k] {
                // Its partner changed or is gone: look again.
                Some((p, _)) if p == a || p == b => {
                    nn[k] = best(&sum, &size, &alive, &blocked, k);
                }
                // The merged group may now be its best partner.
                current => {
                    if blocked[k * m + a] {
                        continue;
                    }
                    let s = avg(&sum, &size, k, a);
                    let take = match current {
                        None => true,
                        Some((p, o)) => s > o || (s == o && a < p),
                    };
                    if take {
                        nn[k] = Some((a, s));
                    }
                }
            }
        }
    }
    let mut out: Vec<Vec<usize>> = groups.into_iter().filter(|g| !g.is_empty()).collect();
    for g in &mut out {
        g.sort_unstable();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit vector in the plane of axes 0 and 1 at `deg` degrees.
    fn rec(deg: f32, image: usize) -> FaceRecord {
        let mut e = [0.0; DIM];
        let r = deg.to_radians();
        e[0] = r.cos();
        e[1] = r.sin();
        FaceRecord {
            embedding: e,
            image,
            face: 0,
        }
    }

    /// cos(angle) = similarity: 0.42 is about 65 degrees.
    fn angle_for(sim: f32) -> f32 {
        sim.acos().to_degrees()
    }

    #[test]
    fn no_chaining_through_a_look_alike() {
        // A ~ B (0.6), B ~ C (0.6), A vs C far apart (cos 106 deg < 0).
        let step = angle_for(0.6);
        let recs = [rec(0.0, 0), rec(step, 1), rec(2.0 * step, 2)];
        let ids = cluster(&recs, 0.45);
        assert_eq!(ids, [1, 1, 2]);
        // Single linkage would have joined all three: both links are above
        // the threshold.
        assert!(dot(&recs[0].embedding, &recs[1].embedding) >= 0.45);
        assert!(dot(&recs[1].embedding, &recs[2].embedding) >= 0.45);
        assert!(dot(&recs[0].embedding, &recs[2].embedding) < 0.0);
    }

    #[test]
    fn a_long_chain_of_look_alikes_does_not_become_one_person() {
        // Ten faces, each half-way between two axes, the next sharing one
        // of them: neighbours 0.5 apart, every other pair 0. Single linkage
        // at 0.45 makes one person of all ten.
        let recs: Vec<FaceRecord> = (0..10)
            .map(|i| {
                let mut e = [0.0; DIM];
                e[i] = std::f32::consts::FRAC_1_SQRT_2;
                e[i + 1] = std::f32::consts::FRAC_1_SQRT_2;
                FaceRecord {
                    embedding: e,
                    image: i,
                    face: 0,
                }
            })
            .collect();
        for w in recs.windows(2) {
            assert!(dot(&w[0].embedding, &w[1].embedding) >= 0.45);
        }
        let ids = cluster(&recs, 0.45);
        assert_eq!(ids, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    }

    #[test]
    fn a_singleton_stays_alone_and_ids_follow_first_appearance() {
        let recs = [
            rec(90.0, 0),
            rec(0.0, 1),
            rec(5.0, 2),
            rec(180.0, 3),
            rec(92.0, 4),
            rec(3.0, 5),
        ];
        assert_eq!(cluster(&recs, 0.45), [1, 2, 2, 3, 1, 2]);
        assert_eq!(cluster(&[rec(0.0, 0)], 0.45), [1]);
        assert!(cluster(&[], 0.45).is_empty());
    }

    #[test]
    fn two_faces_in_one_photo_are_never_one_person() {
        // Twins in one photo, and a third photo that looks like both.
        let recs = [rec(0.0, 7), rec(2.0, 7), rec(0.5, 8)];
        assert_eq!(cluster(&recs, 0.45), [1, 2, 1]);
        // Once a group holds a face of photo 7, it blocks the other face of
        // photo 7 whatever their similarity.
        let recs = [rec(0.0, 1), rec(1.0, 2), rec(0.5, 2)];
        assert_eq!(cluster(&recs, 0.45), [1, 2, 1]);
    }

    #[test]
    fn same_input_same_ids_and_a_permutation_gives_the_same_people() {
        // Three people with spread, in a scrambled order.
        let mut recs = Vec::new();
        for (p, centre) in [0.0f32, 120.0, 240.0].iter().enumerate() {
            for k in 0..5 {
                recs.push(rec(centre + (k as f32 * 7.3 - 14.0), p * 10 + k));
            }
        }
        let ids = cluster(&recs, 0.45);
        assert_eq!(ids, cluster(&recs, 0.45));
        assert_eq!(ids, [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3]);
        // Reversed input: the same partition, ids renumbered by the new
        // first appearances.
        let rev: Vec<FaceRecord> = recs.iter().rev().cloned().collect();
        let rids = cluster(&rev, 0.45);
        assert_eq!(rids, [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3]);
        // A rotation of the input order keeps every pair's relation.
        let rot: Vec<usize> = (0..recs.len()).map(|i| (i * 7) % recs.len()).collect();
        let permuted: Vec<FaceRecord> = rot.iter().map(|&i| recs[i].clone()).collect();
        let pids = cluster(&permuted, 0.45);
        for x in 0..rot.len() {
            for y in 0..rot.len() {
                assert_eq!(pids[x] == pids[y], ids[rot[x]] == ids[rot[y]], "{x} {y}");
            }
        }
    }

    #[test]
    fn exact_ties_resolve_by_input_order() {
        // The same face three times in three photos, and one photo in
        // between two of them that equals both: all one person, whichever
        // tie is taken first.
        let recs = [rec(0.0, 0), rec(0.0, 1), rec(0.0, 2)];
        assert_eq!(cluster(&recs, 0.45), [1, 1, 1]);
        // A face equally similar to two people joins the earlier one.
        let recs = [rec(-30.0, 0), rec(30.0, 1), rec(0.0, 2)];
        let ids = cluster(&recs, 0.8);
        assert_eq!(ids, [1, 2, 1]);
    }
}
