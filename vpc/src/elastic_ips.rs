//! `aws_eip`: the Elastic IP of a NAT gateway.

use async_trait::async_trait;
use aws_sdk_ec2::types::{DomainType, ResourceType};
use converge::{
    ignore_not_found, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Transient, Wanted,
};

/// The Elastic IP kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EipKind;

/// An Elastic IP we own.
#[derive(Clone, Debug)]
pub(crate) struct FoundEip {
    pub allocation_id: String,
    pub name: String,
    pub owner: Option<String>,
}

/// What the NAT gateway uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EipOut {
    pub allocation_id: String,
}

pub(crate) const KIND: &str = "aws_eip";

/// An Elastic IP's fields that a plan can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EipField {
    /// Where it is allocated: always `vpc`, so a diff never reports it.
    Domain,
}

impl Field for EipField {
    fn name(&self) -> &str {
        match self {
            EipField::Domain => "domain",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            EipField::Domain => Some("an Elastic IP cannot change its domain"),
        }
    }
}

#[async_trait]
impl Resource for EipKind {
    const KIND: &'static str = KIND;
    // The address of a NAT gateway no longer wanted goes (it costs money idle).
    const PRUNE: bool = true;
    // Its NAT gateway is deleted first (it uses the address), but AWS can take a moment to
    // let go of it.
    const IN_USE: Transient = Transient::codes(&["InvalidIPAddress.InUse", "AuthFailure"]);
    type Field = EipField;
    type Key = ();
    // Nothing to choose: an address in the VPC domain.
    type Desired = ();
    type Observed = FoundEip;
    type Outputs = EipOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{ec2_tags_on_create, Grant};
        vec![
            Grant::new(["ec2:DescribeAddresses", "ec2:AllocateAddress"]),
            ec2_tags_on_create("AllocateAddress"),
            Grant::new(["ec2:ReleaseAddress"]).owned(),
        ]
    }

    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundEip>, Error> {
        // AWS answers DescribeAddresses whole: it has no pages.
        let found = converge::ec2::read_owned(
            wanted,
            "DescribeAddresses",
            KIND,
            |owned| {
                converge::paging::one_page(aws.ec2().describe_addresses().filters(owned).send())
            },
            |page| page.addresses.unwrap_or_default(),
        )
        .await?;
        Ok(found
            .into_iter()
            .filter_map(|f| {
                Some(FoundEip {
                    allocation_id: f.item.allocation_id()?.to_owned(),
                    name: f.name,
                    owner: f.owner,
                })
            })
            .collect())
    }

    fn name<'o>(&self, o: &'o FoundEip) -> &'o str {
        &o.name
    }
    fn owner<'o>(&self, o: &'o FoundEip) -> Option<&'o str> {
        o.owner.as_deref()
    }
    fn id(&self, o: &FoundEip) -> String {
        o.allocation_id.clone()
    }

    fn describe(&self, _: &()) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta.update(EipField::Domain, None::<String>, Some("vpc"));
        delta.described()
    }

    fn diff(&self, _: &(), _: &FoundEip) -> Delta<EipField> {
        Delta::new()
    }

    fn outputs(&self, o: &FoundEip) -> EipOut {
        EipOut {
            allocation_id: o.allocation_id.clone(),
        }
    }
    fn output_id(&self, out: &EipOut) -> Option<String> {
        Some(out.allocation_id.clone())
    }

    async fn create(&self, cx: Cx<'_>, _: &()) -> Result<EipOut, Error> {
        let out = cx
            .aws
            .ec2()
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(cx.tags.ec2_spec(ResourceType::ElasticIp, cx.name))
            .send()
            .await
            .context("AllocateAddress", cx.address(KIND, None))?;
        Ok(EipOut {
            allocation_id: out.allocation_id().unwrap_or_default().to_owned(),
        })
    }

    async fn update(
        &self,
        _: Cx<'_>,
        _: &(),
        o: &FoundEip,
        delta: &Delta<EipField>,
    ) -> Result<EipOut, Error> {
        for field in delta.fields() {
            match field {
                // Fixed, and never reported: nothing to update.
                EipField::Domain => {}
            }
        }
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundEip) -> Result<(), Error> {
        let result = cx
            .aws
            .ec2()
            .release_address()
            .allocation_id(&o.allocation_id)
            .send()
            .await
            .context(
                "ReleaseAddress",
                cx.address(KIND, Some(o.allocation_id.clone())),
            );
        ignore_not_found(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_has_nothing_to_change_and_its_domain_is_fixed() {
        let found = FoundEip {
            allocation_id: "eipalloc-1".into(),
            name: "blog-eip".into(),
            owner: Some("vpc/blog".into()),
        };
        assert!(EipKind.diff(&(), &found).is_empty());
        assert_eq!(
            EipField::Domain.replaces(),
            Some("an Elastic IP cannot change its domain")
        );
        // A new address replaces nothing.
        let diffs = EipKind.describe(&());
        assert_eq!(diffs[0].field, "domain");
        assert_eq!(diffs[0].replaces, None);
    }
}
