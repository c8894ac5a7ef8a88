//! Table definitions shared by both backends: only portable column types
//! (Text ids, BigInt money in minor units, Timestamp in UTC, JSON as Text).

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        from_email -> Text,
        from_name -> Nullable<Text>,
        recovery_url -> Nullable<Text>,
        policy -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        link_secret -> Text,
        experience -> Text,
        allowed_origins -> Text,
        reply_to -> Nullable<Text>,
        default_currency -> Text,
        assignment_key -> Nullable<Text>,
        status -> Text,
        language_ids -> Text,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        tenant_id -> Text,
        kind -> Text,
        key_hash -> Text,
        prefix -> Text,
        label -> Nullable<Text>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        public_key -> Nullable<Text>,
    }
}

diesel::table! {
    carts (id) {
        id -> Text,
        tenant_id -> Text,
        session_id -> Text,
        status -> Text,
        items -> Text,
        item_count -> Integer,
        total_minor -> BigInt,
        currency -> Text,
        customer_email -> Nullable<Text>,
        customer_name -> Nullable<Text>,
        cycle -> Integer,
        next_step -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_activity_at -> Timestamp,
        abandoned_at -> Nullable<Timestamp>,
        ordered_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        unsubscribed_at -> Nullable<Timestamp>,
        next_action_at -> Nullable<Timestamp>,
        locked_by -> Nullable<Text>,
        locale -> Nullable<Text>,
        consent -> Nullable<Integer>,
        last_sent_at -> Nullable<Timestamp>,
        external_id -> Nullable<Text>,
        attributes -> Text,
        erased_at -> Nullable<Timestamp>,
        quarantined_at -> Nullable<Timestamp>,
        version -> BigInt,
        experiment_id -> Nullable<Text>,
        experiment -> Nullable<Text>,
        subtotal_minor -> Nullable<BigInt>,
    }
}

diesel::table! {
    cart_shop_fields (tenant_id, cart_id) {
        tenant_id -> Text,
        cart_id -> Text,
        profile_id -> Nullable<Text>,
        recovery_url -> Nullable<Text>,
        recovery_token -> Nullable<Text>,
    }
}

diesel::table! {
    recovery_sends (id) {
        id -> Text,
        tenant_id -> Text,
        cart_id -> Text,
        cycle -> Integer,
        step -> Integer,
        status -> Text,
        attempts -> Integer,
        idempotency_key -> Text,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        provider -> Nullable<Text>,
        provider_message_id -> Nullable<Text>,
        last_error -> Nullable<Text>,
        next_attempt_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        coupon_code -> Nullable<Text>,
        recovery_token_hash -> Nullable<Text>,
        unsubscribe_token_hash -> Nullable<Text>,
        click_count -> Integer,
        first_clicked_at -> Nullable<Timestamp>,
        last_clicked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        tenant_id -> Text,
        order_ref -> Text,
        session_id -> Nullable<Text>,
        cart_id -> Nullable<Text>,
        total_minor -> Nullable<BigInt>,
        currency -> Text,
        attribution -> Text,
        created_at -> Timestamp,
        matched_by -> Nullable<Text>,
        source -> Text,
        customer_email -> Nullable<Text>,
    }
}

diesel::joinable!(api_keys -> tenants (tenant_id));
diesel::joinable!(carts -> tenants (tenant_id));
diesel::joinable!(recovery_sends -> carts (cart_id));
diesel::joinable!(orders -> tenants (tenant_id));
diesel::joinable!(suppressions -> tenants (tenant_id));
diesel::joinable!(cart_events -> carts (cart_id));
diesel::joinable!(cart_shop_fields -> carts (cart_id));
diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    api_keys,
    carts,
    recovery_sends,
    orders,
    email_providers,
    suppressions,
    cart_events,
    cart_shop_fields,
    custom_templates,
    webhook_endpoints,
    webhook_deliveries,
    stripe_accounts,
    experiments
);

diesel::table! {
    experiments (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        kind -> Text,
        status -> Text,
        groups -> Text,
        winner -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        stopped_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(experiments -> tenants (tenant_id));

diesel::table! {
    custom_templates (tenant_id, name, locale) {
        tenant_id -> Text,
        name -> Text,
        locale -> Text,
        subject -> Text,
        html -> Text,
        text -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    suppressions (tenant_id, email) {
        tenant_id -> Text,
        email -> Text,
        reason -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    cart_events (id) {
        id -> Text,
        tenant_id -> Text,
        cart_id -> Text,
        kind -> Text,
        step -> Nullable<Integer>,
        detail -> Nullable<Text>,
        created_at -> Timestamp,
        cart_total_minor -> Nullable<BigInt>,
        cart_currency -> Nullable<Text>,
    }
}

diesel::table! {
    email_providers (tenant_id) {
        tenant_id -> Text,
        kind -> Text,
        settings -> Text,
        key_id -> Text,
        masked -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(email_providers -> tenants (tenant_id));

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        tenant_id -> Text,
        url -> Text,
        description -> Nullable<Text>,
        events -> Text,
        enabled -> Integer,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamp>,
        disabled_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        abandoned_event -> Text,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        tenant_id -> Text,
        endpoint_id -> Text,
        event -> Text,
        cart_id -> Nullable<Text>,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        locked_by -> Nullable<Text>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    stripe_accounts (tenant_id) {
        tenant_id -> Text,
        secret_key -> Nullable<Text>,
        webhook_secrets -> Nullable<Text>,
        masked -> Text,
        success_url -> Nullable<Text>,
        cancel_url -> Nullable<Text>,
        links_in_emails -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(webhook_endpoints -> tenants (tenant_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(stripe_accounts -> tenants (tenant_id));

diesel::table! {
    dashboard_users (id) {
        id -> Text,
        tenant_id -> Text,
        email -> Text,
        password_hash -> Nullable<Text>,
        role -> Text,
        created_at -> Timestamp,
        last_sign_in_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    dashboard_sign_in_links (token_hash) {
        token_hash -> Text,
        tenant_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    dashboard_sessions (id_hash) {
        id_hash -> Text,
        tenant_id -> Text,
        user_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    dashboard_sign_in_throttle (subject) {
        subject -> Text,
        failures -> Integer,
        window_start -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::joinable!(dashboard_sessions -> dashboard_users (user_id));
diesel::allow_tables_to_appear_in_same_query!(dashboard_sessions, dashboard_users);

diesel::table! {
    cart_payment_links (tenant_id, cart_id) {
        tenant_id -> Text,
        cart_id -> Text,
        url -> Text,
        checkout_session_id -> Text,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Sealed local days of a tenant's analytics, counted once
    /// (`cartback_store::analytics::summary`).
    analytics_days (tenant_id, day_start, kind, label, sealed_start) {
        tenant_id -> Text,
        day_start -> Timestamp,
        kind -> Text,
        label -> Text,
        sealed_start -> Timestamp,
        events -> BigInt,
        valued -> BigInt,
        millions -> BigInt,
        rest -> BigInt,
    }
}

diesel::table! {
    /// Which local days `analytics_days` holds for a tenant.
    analytics_marks (tenant_id) {
        tenant_id -> Text,
        zone -> Text,
        tzdb -> Text,
        from_start -> Timestamp,
        until_start -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(analytics_days -> tenants (tenant_id));
diesel::joinable!(analytics_marks -> tenants (tenant_id));
