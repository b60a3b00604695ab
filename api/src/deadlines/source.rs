//! What a set of clocks is derived from: a source of one kind, named by the id of what
//! it is (a case, a child taught at home, a household's look-backs, …).

/// What a set of clocks is derived from; deriving it again replaces them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Case(String),
    HomeTeaching(String),
    Pair(String),
    Plan(String),
    LookBacks(String),
    Correction(String),
    PhotoSubject(String),
    Campaign(String),
    Application(String),
}

/// The kinds of source, each derived in one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Case,
    HomeTeaching,
    Pair,
    Plan,
    LookBacks,
    Correction,
    PhotoSubject,
    Campaign,
    Application,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Case,
        Kind::HomeTeaching,
        Kind::Pair,
        Kind::Plan,
        Kind::LookBacks,
        Kind::Correction,
        Kind::PhotoSubject,
        Kind::Campaign,
        Kind::Application,
    ];

    /// What the stored keys of its clocks start with.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Case => "dropout_case",
            Kind::HomeTeaching => "home_teaching",
            Kind::Pair => "pair",
            Kind::Plan => "employment_plan",
            Kind::LookBacks => "household",
            Kind::Correction => "correction",
            Kind::PhotoSubject => "photo_subject",
            Kind::Campaign => "campaign",
            Kind::Application => "application",
        }
    }
}

impl Source {
    pub fn kind(&self) -> Kind {
        match self {
            Source::Case(_) => Kind::Case,
            Source::HomeTeaching(_) => Kind::HomeTeaching,
            Source::Pair(_) => Kind::Pair,
            Source::Plan(_) => Kind::Plan,
            Source::LookBacks(_) => Kind::LookBacks,
            Source::Correction(_) => Kind::Correction,
            Source::PhotoSubject(_) => Kind::PhotoSubject,
            Source::Campaign(_) => Kind::Campaign,
            Source::Application(_) => Kind::Application,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Source::Case(id)
            | Source::HomeTeaching(id)
            | Source::Pair(id)
            | Source::Plan(id)
            | Source::LookBacks(id)
            | Source::Correction(id)
            | Source::PhotoSubject(id)
            | Source::Campaign(id)
            | Source::Application(id) => id,
        }
    }

    /// The key its clocks are stored under.
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind().prefix(), self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_stored_form() {
        assert_eq!(Source::Case("c1".into()).key(), "dropout_case:c1");
        assert_eq!(Source::LookBacks("h1".into()).key(), "household:h1");
        assert_eq!(Source::Plan("p1".into()).key(), "employment_plan:p1");
        let prefixes: std::collections::BTreeSet<_> =
            Kind::ALL.iter().map(|k| k.prefix()).collect();
        assert_eq!(prefixes.len(), Kind::ALL.len());
    }
}
