//! Publishing part of the maps (`Scope::Part`): a health change or a changed name writes and
//! reads only the RRsets it names, and leaves every other published RRset as it is.

use super::*;

impl Maps {
    /// Plans `image` as the new state of its RRsets with `removed` gone, carries it out, and
    /// checks that each RRset of the image is published with its set.
    fn publish_part(&mut self, image: &MapImage, removed: &[RrsetId]) -> Done {
        let plan = plan(&self.state, image, Scope::Part { removed }, self).unwrap();
        for step in &plan.steps {
            self.execute(step);
        }
        for (rrset, answer) in &*image.rrsets {
            let live = self.live[rrset];
            assert_eq!(&self.slots[&(rrset.qtype, live.slot)], answer);
        }
        for rrset in removed {
            assert!(!self.live.contains_key(rrset), "{rrset:?} removed");
        }
        Done {
            steps: outline(&plan),
            unchanged: plan.unchanged,
        }
    }

    fn names(&self) -> Vec<RrsetId> {
        self.live.keys().cloned().collect()
    }
}

fn id(name: &str, qtype: AddrType) -> RrsetId {
    RrsetId {
        qtype,
        name: wire(name),
    }
}

#[test]
fn a_part_writes_its_changed_rrsets_and_leaves_the_others() {
    let mut maps = Maps::new(8, 8);
    maps.publish(&image(&[("a", 1), ("b", 2), ("c", 3)], &[("a", 1)]));
    let before = maps.names();

    let done = maps.publish_part(&image(&[("b", 9)], &[("a", 1)]), &[]);
    assert_eq!(done.steps, [step("replace", "b", 1, 3)]);
    assert_eq!(done.unchanged, 1, "a/6 is in the part, unchanged");
    assert_eq!(maps.names(), before, "a and c, absent from the part, stay");
    assert!(maps.hold(&image(&[("a", 1), ("b", 9), ("c", 3)], &[("a", 1)])));
}

#[test]
fn a_part_removes_only_what_it_lists() {
    let mut maps = Maps::new(8, 8);
    maps.publish(&image(&[("a", 1), ("b", 2)], &[("a", 1)]));

    let gone = [id("a", AddrType::Aaaa), id("never", AddrType::A)];
    let done = maps.publish_part(&image(&[("new", 4)], &[]), &gone);
    assert_eq!(
        done.steps,
        [step("remove", "a/6", 0, 0), step("add", "new", 2, 2)],
        "an RRset that was never published is not removed"
    );
    assert!(maps.hold(&image(&[("a", 1), ("b", 2), ("new", 4)], &[])));
}

#[test]
fn a_part_that_would_overfill_the_name_table_fails_before_any_step() {
    let mut maps = Maps::with(Capacity {
        v4: 8,
        v6: 8,
        names: 2,
        name_words: 64,
        signatures: 0,
    });
    maps.publish(&image(&[("a", 1), ("b", 2)], &[]));
    let part = image(&[("c", 3)], &[]);
    assert_eq!(
        plan(&maps.state, &part, Scope::Part { removed: &[] }, &maps),
        Err(Full::Names)
    );
    // Removing one makes room.
    let done = maps.publish_part(&part, &[id("a", AddrType::A)]);
    assert_eq!(done.steps[0], step("remove", "a", 0, 0));
    assert!(maps.hold(&image(&[("b", 2), ("c", 3)], &[])));
}
