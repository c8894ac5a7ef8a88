//! The variables a custom template names, checked when it is saved: every
//! name and field must exist in the emails' context, whatever branch or loop it
//! sits in, so a typo is caught with its line instead of failing (or printing
//! nothing) for some cart later.

use std::collections::{BTreeMap, HashMap, HashSet};

use minijinja::Environment;
use minijinja::machinery::ast::{self, CallArg, Expr, Stmt};
use minijinja::machinery::{Span, parse};
use minijinja::value::{Value, ValueKind};

use crate::error::{ErrorKind, Part, TemplateError};

/// What a variable holds, as far as the check cares.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Text, a number, none: nothing inside to check.
    Scalar,
    Object(BTreeMap<String, Shape>),
    List(Box<Shape>),
}

impl Shape {
    /// The shape of a sample value: its maps and lists (read by their first
    /// element), the rest as scalars. The sample must have every optional value
    /// set, or its fields are not known.
    pub(crate) fn of(value: &Value) -> Shape {
        match value.kind() {
            ValueKind::Map => Shape::Object(
                value
                    .try_iter()
                    .into_iter()
                    .flatten()
                    .filter_map(|key| {
                        let name = key.as_str()?.to_owned();
                        let field = value.get_attr(&name).ok()?;
                        Some((name, Shape::of(&field)))
                    })
                    .collect(),
            ),
            ValueKind::Seq => Shape::List(Box::new(
                value
                    .get_item(&Value::from(0))
                    .map_or(Shape::Scalar, |first| Shape::of(&first)),
            )),
            _ => Shape::Scalar,
        }
    }
}

/// Every unknown variable and field in `source` (one error per name, at its
/// first use), given the shape of the context (`known`, an object). A source
/// that does not parse gives none: compiling it reports that.
pub(crate) fn unknown_variables(
    env: &Environment<'_>,
    part: Part,
    source: &str,
    known: &Shape,
) -> Vec<TemplateError> {
    let Shape::Object(root) = known else {
        return Vec::new();
    };
    let Ok(template) = parse(source, part.as_str(), env.syntax().clone()) else {
        return Vec::new();
    };
    let mut checker = Checker {
        source,
        part,
        root,
        globals: env.globals().map(|(name, _)| name.to_owned()).collect(),
        scopes: vec![HashMap::new()],
        reported: HashSet::new(),
        errors: Vec::new(),
    };
    checker.walk(&template);
    checker.errors
}

/// A name in scope: a shape from the context, or a value the template made.
#[derive(Clone, Copy)]
enum Binding<'s> {
    Known(&'s Shape),
    Local,
}

struct Checker<'s, 'a> {
    source: &'a str,
    part: Part,
    root: &'s BTreeMap<String, Shape>,
    /// The engine's own functions (`range`, `dict`, `namespace`).
    globals: HashSet<String>,
    scopes: Vec<HashMap<&'a str, Binding<'s>>>,
    /// Names already reported: a typo repeated is reported once.
    reported: HashSet<String>,
    errors: Vec<TemplateError>,
}

impl<'s, 'a> Checker<'s, 'a> {
    fn walk_all(&mut self, body: &[Stmt<'a>]) {
        for stmt in body {
            self.walk(stmt);
        }
    }

    fn walk(&mut self, stmt: &Stmt<'a>) {
        match stmt {
            Stmt::Template(template) => self.walk_all(&template.children),
            Stmt::EmitExpr(emit) => {
                self.visit(&emit.expr);
            }
            Stmt::EmitRaw(_) => {}
            Stmt::ForLoop(for_loop) => {
                let iterated = self.visit(&for_loop.iter);
                self.scopes.push(HashMap::new());
                self.bind("loop", Binding::Local);
                let element = match iterated {
                    Some(Shape::List(element)) => Some(&**element),
                    _ => None,
                };
                self.assign(&for_loop.target, element);
                if let Some(filter) = &for_loop.filter_expr {
                    self.visit(filter);
                }
                self.walk_all(&for_loop.body);
                self.scopes.pop();
                self.scopes.push(HashMap::new());
                self.walk_all(&for_loop.else_body);
                self.scopes.pop();
            }
            // No scope of its own: a `set` inside counts after the `endif`.
            Stmt::IfCond(cond) => {
                self.visit(&cond.expr);
                self.walk_all(&cond.true_body);
                self.walk_all(&cond.false_body);
            }
            Stmt::WithBlock(with) => {
                self.scopes.push(HashMap::new());
                for (target, value) in &with.assignments {
                    let shape = self.visit(value);
                    self.assign(target, shape);
                }
                self.walk_all(&with.body);
                self.scopes.pop();
            }
            Stmt::Set(set) => {
                let shape = self.visit(&set.expr);
                self.assign(&set.target, shape);
            }
            Stmt::SetBlock(set) => {
                self.scopes.push(HashMap::new());
                self.walk_all(&set.body);
                self.scopes.pop();
                if let Some(filter) = &set.filter {
                    self.visit(filter);
                }
                self.assign(&set.target, None);
            }
            Stmt::AutoEscape(block) => {
                self.visit(&block.enabled);
                self.walk_all(&block.body);
            }
            Stmt::FilterBlock(block) => {
                self.visit(&block.filter);
                self.walk_all(&block.body);
            }
            Stmt::Do(call) => self.visit_call(&call.call),
        }
    }

    fn bind(&mut self, name: &'a str, binding: Binding<'s>) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name, binding);
        }
    }

    fn assign(&mut self, target: &Expr<'a>, shape: Option<&'s Shape>) {
        match target {
            Expr::Var(var) => self.bind(var.id, shape.map_or(Binding::Local, Binding::Known)),
            Expr::Tuple(tuple) => tuple.items.iter().for_each(|t| self.assign(t, None)),
            Expr::List(list) => list.items.iter().for_each(|t| self.assign(t, None)),
            // `{% set ns.count = 1 %}`: the namespace must exist.
            Expr::GetAttr(attr) => {
                self.visit(&attr.expr);
            }
            _ => {}
        }
    }

    fn visit_args(&mut self, args: &[CallArg<'a>]) {
        for arg in args {
            match arg {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => {
                    self.visit(e);
                }
            }
        }
    }

    fn visit_call(&mut self, call: &ast::Call<'a>) {
        match &call.expr {
            // A method (`loop.cycle(…)`): its object must exist; the method
            // name is not a field.
            Expr::GetAttr(method) => {
                self.visit(&method.expr);
            }
            callee => {
                self.visit(callee);
            }
        }
        self.visit_args(&call.args);
    }

    /// Checks `expr` and returns its shape when the context tells it.
    fn visit(&mut self, expr: &Expr<'a>) -> Option<&'s Shape> {
        match expr {
            Expr::Var(var) => self.lookup(var.id, var.span()),
            Expr::Const(_) => None,
            Expr::Slice(slice) => {
                let shape = self.visit(&slice.expr);
                for bound in [&slice.start, &slice.stop, &slice.step]
                    .into_iter()
                    .flatten()
                {
                    self.visit(bound);
                }
                shape
            }
            Expr::UnaryOp(op) => {
                self.visit(&op.expr);
                None
            }
            Expr::BinOp(op) => {
                self.visit(&op.left);
                self.visit(&op.right);
                None
            }
            Expr::Compare(compare) => {
                self.visit(&compare.expr);
                for op in &compare.ops {
                    self.visit(&op.expr);
                }
                None
            }
            Expr::IfExpr(choice) => {
                self.visit(&choice.test_expr);
                let shape = self.visit(&choice.true_expr);
                if let Some(otherwise) = &choice.false_expr {
                    self.visit(otherwise);
                }
                shape
            }
            Expr::Filter(filter) => {
                let shape = filter.expr.as_ref().and_then(|e| self.visit(e));
                self.visit_args(&filter.args);
                match (filter.name, shape) {
                    ("first" | "last", Some(Shape::List(element))) => Some(&**element),
                    (
                        "sort" | "reverse" | "list" | "unique" | "select" | "reject" | "selectattr"
                        | "rejectattr" | "default" | "d",
                        shape,
                    ) => shape,
                    _ => None,
                }
            }
            Expr::Test(test) => {
                self.visit(&test.expr);
                self.visit_args(&test.args);
                None
            }
            Expr::GetAttr(attr) => {
                let parent = self.visit(&attr.expr);
                self.field(parent, &attr.expr, attr.name, attr.span())
            }
            Expr::GetItem(item) => {
                let parent = self.visit(&item.expr);
                self.visit(&item.subscript_expr);
                match (parent, &item.subscript_expr) {
                    (Some(Shape::List(element)), _) => Some(&**element),
                    (Some(Shape::Object(_)), Expr::Const(key)) => match key.value.as_str() {
                        Some(name) => self.field(parent, &item.expr, name, item.span()),
                        None => None,
                    },
                    _ => None,
                }
            }
            Expr::Call(call) => {
                self.visit_call(call);
                None
            }
            Expr::List(list) => {
                list.items.iter().for_each(|e| {
                    self.visit(e);
                });
                None
            }
            Expr::Tuple(tuple) => {
                tuple.items.iter().for_each(|e| {
                    self.visit(e);
                });
                None
            }
            Expr::Map(map) => {
                map.keys.iter().chain(&map.values).for_each(|e| {
                    self.visit(e);
                });
                None
            }
        }
    }

    fn lookup(&mut self, name: &'a str, span: Span) -> Option<&'s Shape> {
        for scope in self.scopes.iter().rev() {
            match scope.get(name) {
                Some(Binding::Known(shape)) => return Some(shape),
                Some(Binding::Local) => return None,
                None => {}
            }
        }
        if let Some(shape) = self.root.get(name) {
            return Some(shape);
        }
        if self.globals.contains(name) {
            return None;
        }
        if self.reported.insert(name.to_owned()) {
            let in_scope: Vec<&str> = self
                .root
                .keys()
                .map(String::as_str)
                .chain(self.scopes.iter().flat_map(|s| s.keys().copied()))
                .collect();
            let message = format!(
                "unknown variable `{name}`{}",
                suggestion(name, in_scope.into_iter())
            );
            self.report(message, span);
        }
        None
    }

    /// The shape of `parent.name`; reports a name the parent does not have.
    fn field(
        &mut self,
        parent: Option<&'s Shape>,
        parent_expr: &Expr<'a>,
        name: &str,
        span: Span,
    ) -> Option<&'s Shape> {
        let path = self.text_of(parent_expr);
        match parent {
            Some(Shape::Object(fields)) => {
                if let Some(shape) = fields.get(name) {
                    return Some(shape);
                }
                if self.reported.insert(format!("{path}.{name}")) {
                    let message = format!(
                        "`{path}` has no field `{name}`{}",
                        suggestion(name, fields.keys().map(String::as_str))
                    );
                    self.report(message, span);
                }
                None
            }
            Some(Shape::List(_)) => {
                if self.reported.insert(format!("{path}.{name}")) {
                    let message = format!(
                        "`{path}` is a list and has no field `{name}`: loop over it (`{{% for item in {path} %}}…{{{{ item.{name} }}}}…{{% endfor %}}`)"
                    );
                    self.report(message, span);
                }
                None
            }
            _ => None,
        }
    }

    fn text_of(&self, expr: &Expr<'_>) -> String {
        let span = match expr {
            Expr::Var(e) => e.span(),
            Expr::GetAttr(e) => e.span(),
            Expr::GetItem(e) => e.span(),
            Expr::Filter(e) => e.span(),
            Expr::Call(e) => e.span(),
            _ => return "value".to_owned(),
        };
        self.source
            .get(span.start_offset as usize..span.end_offset as usize)
            .map_or_else(
                || "value".to_owned(),
                |text| text.split_whitespace().collect(),
            )
    }

    fn report(&mut self, message: String, span: Span) {
        self.errors.push(
            TemplateError::new(self.part, ErrorKind::UnknownVariable, message)
                .at_offset(self.source, span.start_offset as usize),
        );
    }
}

/// " (did you mean `shop_name`?)" when a candidate is a likely typo of `name`.
fn suggestion<'n>(name: &str, candidates: impl Iterator<Item = &'n str>) -> String {
    candidates
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, candidate)| {
            *distance <= (name.chars().count().max(candidate.chars().count()) / 3).max(1)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| format!(" (did you mean `{candidate}`?)"))
        .unwrap_or_default()
}

/// Levenshtein distance, case-insensitive.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_suggestions() {
        assert_eq!(edit_distance("shop_nme", "shop_name"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        let names = ["shop_name", "step", "items"];
        assert_eq!(
            suggestion("shop_nme", names.into_iter()),
            " (did you mean `shop_name`?)"
        );
        assert_eq!(
            suggestion("Items", names.into_iter()),
            " (did you mean `items`?)"
        );
        assert_eq!(suggestion("banana", names.into_iter()), "");
    }
}
