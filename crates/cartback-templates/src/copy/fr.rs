use super::{Copy, StepText};

// French typography: a no-break space before ":" and a narrow no-break space
// before "?" and "!".
pub(super) const COPY: Copy = Copy {
    tag: "fr",
    steps: [
        StepText {
            subject: "Vous avez oublié quelque chose dans votre panier chez {shop}",
            preheader: "Nous avons gardé vos articles de côté\u{a0}: reprenez votre commande quand vous voulez.",
            headline: "Votre panier vous attend",
            body: "Il semble que votre commande ne soit pas tout à fait terminée. Pas d’inquiétude\u{a0}: nous avons conservé votre panier tel quel, il ne vous reste qu’un instant pour la finaliser.",
            button: "Retrouver mon panier",
        },
        StepText {
            subject: "Votre panier chez {shop} vous attend toujours",
            preheader: "Les articles que vous avez choisis sont encore là, mais pas pour toujours.",
            headline: "Vous hésitez encore\u{202f}?",
            body: "Les articles que vous avez sélectionnés sont toujours dans votre panier.\n\nVous avez une question sur la taille, la livraison ou le paiement\u{202f}? Répondez simplement à cet e-mail, nous serons ravis de vous aider.",
            button: "Finaliser ma commande",
        },
        StepText {
            subject: "Dernier rappel\u{a0}: votre panier chez {shop} vous attend toujours",
            preheader: "Ceci est notre dernier rappel concernant les articles de votre panier.",
            headline: "Dernière chance pour vos articles",
            body: "Votre panier est toujours enregistré, mais c’est le dernier rappel que nous vous envoyons.\n\nLes articles les plus demandés partent vite. Si vous les voulez toujours, c’est le moment de finaliser votre commande.",
            button: "Commander maintenant",
        },
    ],
    greeting_named: "Bonjour {name},",
    greeting: "Bonjour,",
    colon: "\u{a0}:",
    your_cart: "Votre panier",
    total: "Total",
    quantity: "Quantité",
    more_items: "…et d’autres articles dans votre panier ({count})",
    coupon_line: "Utilisez le code {code} lors du paiement",
    coupon_title: "Un petit cadeau pour vous",
    pay_lead: "Vous préférez payer tout de suite\u{202f}?",
    pay_button: "Payer maintenant",
    link_fallback: "Le bouton ne fonctionne pas\u{202f}? Copiez ce lien dans votre navigateur\u{a0}:",
    unsubscribe_lead: "Vous ne souhaitez plus recevoir ces rappels\u{202f}?",
    unsubscribe_link: "Se désabonner",
    reason: "Vous recevez cet e-mail parce que vous avez laissé des articles dans votre panier chez {shop}.",
    signoff: "À bientôt,",
    team: "L’équipe {shop}",
};
