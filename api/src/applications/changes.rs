//! What a corrected version changed, in the office's words: the form's fields, the
//! household's members and the materials, each named as the applicant filled them in.

use crate::applications::queries::{Material, StoredForm};

/// One version's content: its form and its materials.
pub struct Content<'a> {
    pub form: &'a StoredForm,
    pub materials: &'a [Material],
}

/// What changed from `old` to `new`, one line each (none when nothing did); `name` gives a
/// material's checklist name from its code.
pub fn between(old: &Content<'_>, new: &Content<'_>, name: impl Fn(&str) -> String) -> Vec<String> {
    let mut out = Vec::new();
    let (a, b) = (old.form, new.form);
    if a.address != b.address {
        out.push(format!("地址：{} → {}", a.address, b.address));
    }
    if a.phone != b.phone {
        let p = |x: &Option<String>| x.clone().unwrap_or_else(|| "未填".to_owned());
        out.push(format!("联系电话：{} → {}", p(&a.phone), p(&b.phone)));
    }
    for m in &b.members {
        match a.members.iter().find(|x| x.id_hash == m.id_hash) {
            None => out.push(format!("增加家庭成员：{}", m.name)),
            Some(x)
                if x.name != m.name
                    || x.relation != m.relation
                    || x.birth_date != m.birth_date
                    || x.gender != m.gender
                    || x.phone != m.phone =>
            {
                out.push(format!("家庭成员信息有改动：{}", m.name));
            }
            Some(_) => {}
        }
    }
    for x in &a.members {
        if !b.members.iter().any(|m| m.id_hash == x.id_hash) {
            out.push(format!("减少家庭成员：{}", x.name));
        }
    }
    let items = |f: &StoredForm| serde_json::to_string(&f.items).unwrap_or_default();
    if items(a) != items(b) {
        out.push(format!(
            "收入与支出：{} 项 → {} 项，有改动",
            a.items.len(),
            b.items.len()
        ));
    }
    if a.situations != b.situations {
        out.push("申请情形有改动".to_owned());
    }
    for m in new.materials {
        match old.materials.iter().find(|x| x.code == m.code) {
            None => out.push(format!("补交材料：{}", name(&m.code))),
            Some(x) if !x.sha256.eq_ignore_ascii_case(&m.sha256) => {
                out.push(format!("重新上传材料：{}", name(&m.code)));
            }
            Some(_) => {}
        }
    }
    for x in old.materials {
        if !new.materials.iter().any(|m| m.code == x.code) {
            out.push(format!("撤下材料：{}", name(&x.code)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applications::queries::StoredMember;
    use crate::households::rules::{Gender, Relation};

    fn member(name: &str, hash: &str) -> StoredMember {
        StoredMember {
            name: name.into(),
            relation: Relation::Head,
            id_sealed: String::new(),
            id_hash: hash.into(),
            id_masked: "110105********002X".into(),
            birth_date: chrono::NaiveDate::default(),
            gender: Gender::Female,
            phone: None,
        }
    }

    fn form(address: &str, members: Vec<StoredMember>) -> StoredForm {
        StoredForm {
            address: address.into(),
            phone: Some("13812345678".into()),
            members,
            items: Vec::new(),
            situations: vec!["illness".into()],
        }
    }

    fn material(code: &str, sha: &str) -> Material {
        Material {
            code: code.into(),
            sha256: sha.into(),
            file_name: None,
        }
    }

    #[test]
    fn names_every_change_and_nothing_else() {
        let old_form = form("青山村三组 12 号", vec![member("张秀英", "a")]);
        let new_form = form(
            "青山村三组 14 号",
            vec![member("张秀英", "a"), member("李明", "b")],
        );
        let old_files = [material("id_cards", "11"), material("diagnosis", "22")];
        let new_files = [material("id_cards", "11"), material("diagnosis", "33")];
        let name = |c: &str| {
            if c == "diagnosis" {
                "诊断证明".into()
            } else {
                c.to_owned()
            }
        };
        let old = Content {
            form: &old_form,
            materials: &old_files,
        };
        let new = Content {
            form: &new_form,
            materials: &new_files,
        };
        assert_eq!(
            between(&old, &new, name),
            [
                "地址：青山村三组 12 号 → 青山村三组 14 号",
                "增加家庭成员：李明",
                "重新上传材料：诊断证明",
            ]
        );
        assert!(between(&old, &old, name).is_empty());
    }
}
