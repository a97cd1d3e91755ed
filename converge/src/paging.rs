//! Paging that cannot loop forever: every list call's pages are counted and bounded, and a
//! marker (`NextToken`, `Marker`, `NextMarker`) AWS hands back twice ends the listing with an
//! error instead of fetching the same pages again and again.
//!
//! A kind's read lists in one expression: [`drain`] takes an SDK paginator
//! (`.into_paginator().send()`), [`drain_by_marker`] a call the SDK has no paginator for, and
//! [`one_page`] makes a call AWS does not page fit wherever a paginator is taken.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;

use aws_smithy_async::future::pagination_stream::{fn_stream::FnStream, PaginationStream};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::{AwsResultExt, Error};

/// The most pages one listing reads: far more than any stack's resources fill (the smallest
/// page AWS answers is 20 items), few enough that a service handing back markers forever is
/// noticed.
pub const MAX_PAGES: usize = 1_000;

/// The pages of one listing: call [`next`](Self::next) with each page's marker for the next
/// one, or [`page`](Self::page) for each page an SDK paginator yields (which already stops on
/// a marker repeated at once).
#[derive(Debug)]
pub struct Pages {
    operation: &'static str,
    read: usize,
    seen: HashSet<String>,
}

impl Pages {
    /// A listing by `operation` (e.g. `DescribeRules`), named in its errors.
    pub fn new(operation: &'static str) -> Self {
        Self {
            operation,
            read: 0,
            seen: HashSet::new(),
        }
    }

    /// Counts a page read; an error past [`MAX_PAGES`].
    pub fn page(&mut self) -> Result<(), Error> {
        self.read += 1;
        if self.read > MAX_PAGES {
            return Err(self.failed(format!("more than {MAX_PAGES} pages")));
        }
        Ok(())
    }

    /// Counts a page read and takes the marker it handed back: `Some` to read the next page,
    /// `None` when the listing is done (no marker, or an empty one); an error when the marker
    /// was handed back before or the pages pass [`MAX_PAGES`].
    pub fn next(&mut self, marker: Option<&str>) -> Result<Option<String>, Error> {
        self.page()?;
        match marker.filter(|m| !m.is_empty()) {
            None => Ok(None),
            Some(m) if !self.seen.insert(m.to_owned()) => Err(self.failed(format!(
                "page {} handed back a marker it had handed back before",
                self.read
            ))),
            Some(m) => Ok(Some(m.to_owned())),
        }
    }

    fn failed(&self, reason: String) -> Error {
        Error::Failed {
            resource: format!("the listing by {}", self.operation),
            reason,
        }
    }
}

/// Every item of every page an SDK paginator yields, as `items` takes them out of each page
/// (`|p| p.subnets.unwrap_or_default()`), counted against [`MAX_PAGES`]. A failed page is
/// an [`Error::Aws`] naming `operation` and `resource`.
///
/// The SDK's paginator already stops on a marker handed back twice in a row; this bounds
/// the pages whatever the markers do.
pub async fn drain<P, E, R, I>(
    operation: &'static str,
    resource: impl fmt::Display,
    mut pages: PaginationStream<Result<P, SdkError<E, R>>>,
    mut items: impl FnMut(P) -> I,
) -> Result<Vec<I::Item>, Error>
where
    I: IntoIterator,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let mut count = Pages::new(operation);
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        count.page()?;
        all.extend(items(page.context(operation, &resource)?));
    }
    Ok(all)
}

/// A page's marker for the next one: a token, or Route 53's pair of a name and an id.
pub trait Marker: Send {
    /// What identifies it, for refusing one handed back twice; empty for "no more pages".
    fn key(&self) -> String;
}

impl Marker for String {
    fn key(&self) -> String {
        self.clone()
    }
}

impl Marker for (String, String) {
    fn key(&self) -> String {
        match (self.0.is_empty(), self.1.is_empty()) {
            (true, true) => String::new(),
            // A character no name or id holds keeps two pairs from one key.
            _ => format!("{}\n{}", self.0, self.1),
        }
    }
}

/// Every item of a listing the SDK has no paginator for: `call` sends one page's request
/// with the marker the page before handed back (`None` first), `split` takes a page apart
/// into its items and the next marker (`None`, or an empty one, when the listing is done).
/// The pages are counted against [`MAX_PAGES`] and a marker handed back twice is an error.
pub async fn drain_by_marker<M, P, E, R, I, F>(
    operation: &'static str,
    resource: impl fmt::Display,
    mut call: impl FnMut(Option<M>) -> F,
    mut split: impl FnMut(P) -> (I, Option<M>),
) -> Result<Vec<I::Item>, Error>
where
    M: Marker,
    F: Future<Output = Result<P, SdkError<E, R>>>,
    I: IntoIterator,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let mut pages = Pages::new(operation);
    let mut marker = None;
    let mut all = Vec::new();
    loop {
        let page = call(marker.take()).await.context(operation, &resource)?;
        let (items, next) = split(page);
        all.extend(items);
        let key = next.as_ref().map(Marker::key);
        match pages.next(key.as_deref())? {
            Some(_) => marker = next,
            None => return Ok(all),
        }
    }
}

/// The answer of a call AWS does not page (`DescribeAddresses` answers everything at once)
/// as a paginator with one page, for the readers that take a paginator.
pub fn one_page<T: Send + 'static>(
    call: impl Future<Output = T> + Send + 'static,
) -> PaginationStream<T> {
    PaginationStream::new(FnStream::new(|tx| {
        Box::pin(async move {
            // Nobody left to take the page: nothing to do with it.
            let _ = tx.send(call.await).await;
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_new_markers_and_stops_at_the_end() {
        let mut pages = Pages::new("DescribeRules");
        assert_eq!(pages.next(Some("a")).unwrap().as_deref(), Some("a"));
        assert_eq!(pages.next(Some("b")).unwrap().as_deref(), Some("b"));
        assert_eq!(pages.next(Some("")).unwrap(), None);
        assert_eq!(Pages::new("X").next(None).unwrap(), None);
    }

    #[test]
    fn a_repeated_marker_is_an_error_naming_the_operation() {
        let mut pages = Pages::new("DescribeRules");
        pages.next(Some("a")).unwrap();
        pages.next(Some("b")).unwrap();
        let err = pages.next(Some("a")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the listing by DescribeRules failed: page 3 handed back a marker it had handed back before"
        );
    }

    #[test]
    fn pages_are_bounded() {
        let mut pages = Pages::new("ListRoles");
        for n in 0..MAX_PAGES {
            pages.next(Some(&n.to_string())).unwrap();
        }
        let err = pages.next(Some("last")).unwrap_err();
        assert!(err.to_string().contains("more than 1000 pages"), "{err}");
        let mut counted = Pages::new("DescribeTargetGroups");
        for _ in 0..MAX_PAGES {
            counted.page().unwrap();
        }
        assert!(counted.page().is_err());
    }

    use aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsOutput;
    use aws_sdk_ec2::types::Subnet;
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

    /// A page of `DescribeSubnets` answering the request whose token is `token`, with
    /// `subnets` and `next` as its marker.
    fn page(token: Option<&'static str>, subnets: &[&str], next: Option<&str>) -> Rule {
        let subnets: Vec<Subnet> = subnets
            .iter()
            .map(|id| Subnet::builder().subnet_id(*id).build())
            .collect();
        let next = next.map(str::to_owned);
        mock!(aws_sdk_ec2::Client::describe_subnets)
            .match_requests(move |r| r.next_token() == token)
            .then_output(move || {
                DescribeSubnetsOutput::builder()
                    .set_subnets(Some(subnets.clone()))
                    .set_next_token(next.clone())
                    .build()
            })
    }

    fn ec2(rules: &[Rule]) -> aws_sdk_ec2::Client {
        mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules, |c| c
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()))
    }

    fn ids(subnets: &[Subnet]) -> Vec<&str> {
        subnets.iter().filter_map(|s| s.subnet_id()).collect()
    }

    #[tokio::test]
    async fn drain_reads_every_page_of_a_paginator() {
        let rules = [
            page(None, &["subnet-1", "subnet-2"], Some("p2")),
            page(Some("p2"), &[], Some("p3")),
            page(Some("p3"), &["subnet-3"], None),
        ];
        let ec2 = ec2(&rules);
        let pages = ec2.describe_subnets().into_paginator().send();
        let subnets = drain("DescribeSubnets", "subnets", pages, |p| {
            p.subnets.unwrap_or_default()
        })
        .await
        .unwrap();
        assert_eq!(ids(&subnets), ["subnet-1", "subnet-2", "subnet-3"]);
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn drain_by_marker_follows_markers_and_refuses_one_handed_back_again() {
        let rules = [
            page(None, &["subnet-1"], Some("p2")),
            page(Some("p2"), &["subnet-2"], Some("p3")),
            page(Some("p3"), &["subnet-3"], None),
        ];
        let ec2 = ec2(&rules);
        let read = |ec2: aws_sdk_ec2::Client| async move {
            drain_by_marker(
                "DescribeSubnets",
                "subnets",
                |token| ec2.describe_subnets().set_next_token(token).send(),
                |p| (p.subnets.unwrap_or_default(), p.next_token),
            )
            .await
        };
        assert_eq!(
            ids(&read(ec2.clone()).await.unwrap()),
            ["subnet-1", "subnet-2", "subnet-3"]
        );
        // The third page hands the first marker back: an error, not a loop.
        let looping = [
            page(None, &["subnet-1"], Some("p2")),
            page(Some("p2"), &["subnet-2"], Some("p3")),
            page(Some("p3"), &["subnet-3"], Some("p2")),
        ];
        let err = read(self::ec2(&looping)).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the listing by DescribeSubnets failed: page 3 handed back a marker it had handed back before"
        );
        assert_eq!(looping[1].num_calls(), 1);
    }

    #[tokio::test]
    async fn a_failed_page_names_the_operation_and_the_listing() {
        let denied = mock!(aws_sdk_ec2::Client::describe_subnets).then_error(|| {
            aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("UnauthorizedOperation")
                    .build(),
            )
        });
        let ec2 = ec2(&[denied]);
        let pages = ec2.describe_subnets().into_paginator().send();
        let err = drain("DescribeSubnets", "aws_subnet", pages, |p| {
            p.subnets.unwrap_or_default()
        })
        .await
        .unwrap_err();
        assert!(
            matches!(&err, Error::Aws { operation: "DescribeSubnets", code: Some(c), .. } if c == "UnauthorizedOperation"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn one_page_is_a_paginator_of_the_one_answer() {
        let rules = [page(None, &["subnet-1"], Some("ignored"))];
        let ec2 = ec2(&rules);
        let pages = one_page(ec2.describe_subnets().send());
        let subnets = drain("DescribeSubnets", "subnets", pages, |p| {
            p.subnets.unwrap_or_default()
        })
        .await
        .unwrap();
        assert_eq!(ids(&subnets), ["subnet-1"]);
        assert_eq!(rules[0].num_calls(), 1);
    }

    #[test]
    fn a_pair_of_markers_is_one_key() {
        assert_eq!((String::new(), String::new()).key(), "");
        assert_ne!(
            ("a.b".to_owned(), "Z1".to_owned()).key(),
            ("a".to_owned(), "b.Z1".to_owned()).key()
        );
    }
}
