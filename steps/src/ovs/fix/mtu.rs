//! Lowers an overlay network's MTU to what Geneve leaves, then tags it
//! [`ADAPTED_TAG`] (`networks_mtu_size_check`).
//!
//! Upstream's `neutron-ovn-migration-mtu` subtracts 8 (GRE: 16) from the
//! MTU it reads and tags the network in a second call, so a crash between
//! the two lowers it twice on the next run. Here the MTU is *set* to the
//! planned Geneve MTU ([`LowerMtu::target_mtu`], absolute) and only while the
//! network is above it; every intent records the original MTU discovery saw,
//! the MTU just before the attempt and whether the attempt sends the MTU PUT
//! ([`MtuParams`]). [`LowerMtu`]'s classification tells the three states
//! apart from the live network and that intent: above the target (not
//! done), at or below it and tagged (done), at or below it, untagged, after
//! an intent of this run (the PUT landed, the tag did not: only the tag is
//! sent). A network that fits without this run's intent is left alone and
//! untagged: the tag says this tool changed it.

use journal::OperationSpec;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Change, FixCx, os_err, spec};
use crate::engine::{Applied, Effect, Step, StepError, Verdict, crash_point};

/// The tag a network lowered by `ovs fix` carries.
pub const ADAPTED_TAG: &str = "ovn-migrate:adapted-mtu";

/// Lower one network's MTU to `target_mtu` and tag it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowerMtu {
    /// The check this remedies.
    pub check: String,
    pub network_id: String,
    pub name: String,
    /// `vxlan` or `gre`.
    pub network_type: String,
    /// The MTU discovery saw: the original.
    pub planned_mtu: u32,
    /// What Geneve leaves (`base − max_header_size`), absolute.
    pub target_mtu: u32,
}

/// What the step reads of the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MtuObservation {
    /// False when the network is gone (404).
    pub exists: bool,
    pub mtu: Option<u32>,
    pub tags: Vec<String>,
}

/// What an intent records: the original MTU and what this attempt does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MtuParams {
    /// The MTU discovery saw, before this run changed anything.
    pub original_mtu: u32,
    /// The MTU just before this attempt.
    pub observed_mtu: Option<u32>,
    /// The MTU this attempt sets.
    pub target_mtu: u32,
    /// Whether this attempt sends the MTU PUT (false: it is already at or
    /// below the target, and only the tag is missing).
    pub lower: bool,
}

impl LowerMtu {
    /// Returns the operation's journal spec.
    pub fn op_spec(&self) -> OperationSpec {
        spec(
            format!("ovs-fix/mtu/{}", self.network_id),
            "mtu",
            "lower-network-mtu",
            format!("networks/{}", self.network_id),
        )
    }

    /// Returns the change for a dry run.
    pub fn change(&self) -> Change {
        Change {
            op: self.op_spec().op.0,
            check: self.check.clone(),
            object: format!("networks/{} ({})", self.network_id, self.name),
            field: "mtu, tags".into(),
            before: format!("{} ({})", self.planned_mtu, self.network_type),
            after: format!("{}, tagged {ADAPTED_TAG}", self.target_mtu),
        }
    }
}

impl Step for LowerMtu {
    type Cx = FixCx;
    type Observation = MtuObservation;

    fn spec(&self) -> OperationSpec {
        self.op_spec()
    }

    fn group(&self) -> Option<String> {
        Some("mtu".into())
    }

    async fn observe(&self, cx: &FixCx) -> Result<MtuObservation, StepError> {
        match cx.openstack.get_network(&self.network_id).await {
            Ok(n) => Ok(MtuObservation {
                exists: true,
                mtu: n.mtu,
                tags: n.tags,
            }),
            Err(e) if e.is_not_found() => Ok(MtuObservation {
                exists: false,
                mtu: None,
                tags: Vec::new(),
            }),
            Err(e) => Err(os_err("read the network", e)),
        }
    }
}

impl Effect for LowerMtu {
    type Params = MtuParams;

    fn params(&self, o: &MtuObservation) -> MtuParams {
        MtuParams {
            original_mtu: self.planned_mtu,
            observed_mtu: o.mtu,
            target_mtu: self.target_mtu,
            lower: o.mtu.is_some_and(|m| m > self.target_mtu),
        }
    }

    fn classify(&self, o: &MtuObservation, intent: Option<&MtuParams>) -> Verdict {
        let target = self.target_mtu;
        if !o.exists {
            return Verdict::Done(format!(
                "network {} no longer exists: nothing to lower",
                self.network_id
            ));
        }
        let Some(mtu) = o.mtu else {
            return Verdict::Ambiguous(format!(
                "network {} shows no mtu (is Neutron's net-mtu extension off?); set it by hand \
                 (openstack network set --mtu {target})",
                self.network_id
            ));
        };
        let tagged = o.tags.iter().any(|t| t == ADAPTED_TAG);
        match (mtu > target, tagged, intent) {
            (true, _, _) => Verdict::NotDone(format!("MTU {mtu} is above the Geneve MTU {target}")),
            (false, true, _) => Verdict::Done(format!(
                "MTU {mtu} fits the Geneve MTU {target} and the network is tagged {ADAPTED_TAG}"
            )),
            (false, false, Some(p)) => Verdict::NotDone(format!(
                "MTU already at {mtu} (originally {}; this run's intent recorded it), \
                 the tag {ADAPTED_TAG} is missing: only the tag is sent",
                p.original_mtu
            )),
            (false, false, None) => Verdict::Done(format!(
                "MTU {mtu} already fits the Geneve MTU {target}: not changed or tagged by this run"
            )),
        }
    }

    async fn act(&self, cx: &FixCx, p: &MtuParams) -> Result<Applied, StepError> {
        let id = &self.network_id;
        if p.lower {
            cx.openstack
                .update("networks", "network", id, json!({ "mtu": p.target_mtu }))
                .await
                .map_err(|e| os_err("set the network's MTU", e))?;
            // Test hook: a crash between the MTU PUT and the tag PUT.
            crash_point(&format!("MtuLowered:{}", self.op_spec().op.0));
        }
        let tagged = cx
            .openstack
            .add_tag("networks", id, ADAPTED_TAG)
            .await
            .map_err(|e| os_err("tag the network", e))?;
        Ok(Applied {
            http_status: Some(tagged.status),
            observed: json!({
                "network_id": id,
                "mtu": p.target_mtu.min(p.observed_mtu.unwrap_or(p.target_mtu)),
                "original_mtu": p.original_mtu,
                "lowered": p.lower,
                "tag": ADAPTED_TAG,
            }),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> LowerMtu {
        LowerMtu {
            check: "networks_mtu_size_check".into(),
            network_id: "n-1".into(),
            name: "legacy".into(),
            network_type: "vxlan".into(),
            planned_mtu: 1450,
            target_mtu: 1442,
        }
    }

    fn seen(mtu: u32, tagged: bool) -> MtuObservation {
        MtuObservation {
            exists: true,
            mtu: Some(mtu),
            tags: if tagged {
                vec!["other".into(), ADAPTED_TAG.into()]
            } else {
                vec!["other".into()]
            },
        }
    }

    #[test]
    fn the_first_attempt_records_the_original_and_lowers() {
        let s = sample();
        let o = seen(1450, false);
        assert!(matches!(s.classify(&o, None), Verdict::NotDone(_)));
        let p = s.params(&o);
        assert_eq!(
            p,
            MtuParams {
                original_mtu: 1450,
                observed_mtu: Some(1450),
                target_mtu: 1442,
                lower: true
            }
        );
    }

    #[test]
    fn a_crash_between_the_two_calls_sends_only_the_tag() {
        let s = sample();
        let first = s.params(&seen(1450, false));
        // The MTU PUT landed, the tag PUT did not: in doubt, judged with the intent.
        let after = seen(1442, false);
        let v = s.classify(&after, Some(&first));
        assert!(
            matches!(&v, Verdict::NotDone(why) if why.contains("originally 1450")),
            "{v:?}"
        );
        let second = s.params(&after);
        assert!(!second.lower, "the MTU must not be lowered again");
        assert_eq!((second.original_mtu, second.target_mtu), (1450, 1442));
        // Both landed.
        assert!(matches!(
            s.classify(&seen(1442, true), Some(&second)),
            Verdict::Done(_)
        ));
    }

    #[test]
    fn nothing_landed_and_other_changes() {
        let s = sample();
        let first = s.params(&seen(1450, false));
        // Neither call landed: act again, lowering.
        assert!(matches!(
            s.classify(&seen(1450, false), Some(&first)),
            Verdict::NotDone(_)
        ));
        // Someone raised it again, tag and all: above the target is never done.
        assert!(matches!(
            s.classify(&seen(1500, true), Some(&first)),
            Verdict::NotDone(_)
        ));
        // Lowered by someone else before this run acted: left alone, untagged.
        let v = s.classify(&seen(1400, false), None);
        assert!(
            matches!(&v, Verdict::Done(why) if why.contains("not changed")),
            "{v:?}"
        );
        let p = s.params(&seen(1400, false));
        assert!(!p.lower, "a lower MTU is never raised to the target");
        // Gone, or without an MTU attribute.
        let gone = MtuObservation {
            exists: false,
            mtu: None,
            tags: vec![],
        };
        assert!(matches!(s.classify(&gone, None), Verdict::Done(_)));
        let no_mtu = MtuObservation {
            exists: true,
            mtu: None,
            tags: vec![],
        };
        assert!(matches!(s.classify(&no_mtu, None), Verdict::Ambiguous(_)));
    }

    #[test]
    fn the_change_shows_before_and_after() {
        let c = sample().change();
        assert_eq!(c.before, "1450 (vxlan)");
        assert_eq!(c.after, format!("1442, tagged {ADAPTED_TAG}"));
        assert_eq!(c.op, "ovs-fix/mtu/n-1");
    }
}
