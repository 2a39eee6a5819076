#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gio/gio.h>
/* The D-Bus path functions of libsecret (secret-paths.h) are marked
 * unstable, but have kept their signatures since libsecret 0.18. */
#define SECRET_API_SUBJECT_TO_CHANGE
#include <libsecret/secret.h>

#include "keyring.h"
#include "text.h"
#include "wipe.h"

#define SECRETS_BUS_NAME "org.freedesktop.secrets"

static const SecretSchema credential_schema = {
	"org.flowcred.Credential", SECRET_SCHEMA_NONE,
	{
		{ "connector", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "flow-user", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "ifs-user", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
	0, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

/* Set once this process connected to the session bus: GDBus then runs a
 * worker thread that a child of fork() does not have. */
static int bus_used;

struct fc_keyring {
	pthread_mutex_t lock;
	int forked;		/* in a child after the parent used D-Bus */
	SecretService *service;	/* guarded by lock */
	/* The main contexts the services were created in, guarded by lock:
	 * a proxy's signal subscriptions queue their cleanup there when it
	 * is finalized, so each is drained when the handle is freed. */
	GPtrArray *contexts;
	int timeout_ms;
	const struct fc_logger *logger;
};

struct fc_keyring *fc_keyring_new(long timeout_ms,
				  const struct fc_logger *logger)
{
	struct fc_keyring *keyring = calloc(1, sizeof(*keyring));

	if (keyring == NULL)
		return NULL;
	pthread_mutex_init(&keyring->lock, NULL);
	keyring->contexts = g_ptr_array_new();
	keyring->timeout_ms = (int)timeout_ms;
	keyring->logger = logger;
	return keyring;
}

void fc_keyring_after_fork(struct fc_keyring *keyring)
{
	pthread_mutex_init(&keyring->lock, NULL);
	/* The parent's proxy and contexts are dropped without unref:
	 * freeing them would talk to the parent's GDBus worker. */
	keyring->service = NULL;
	keyring->contexts = NULL;
	if (__atomic_load_n(&bus_used, __ATOMIC_RELAXED))
		keyring->forked = 1;
}

void fc_keyring_free(struct fc_keyring *keyring)
{
	guint i;

	if (keyring == NULL)
		return;
	if (!keyring->forked) {
		g_clear_object(&keyring->service);
		for (i = 0; keyring->contexts != NULL &&
			    i < keyring->contexts->len; i++) {
			GMainContext *context =
				g_ptr_array_index(keyring->contexts, i);

			if (g_main_context_acquire(context)) {
				while (g_main_context_iteration(context, FALSE))
					;
				g_main_context_release(context);
			}
			g_main_context_unref(context);
		}
		if (keyring->contexts != NULL)
			g_ptr_array_free(keyring->contexts, TRUE);
	}
	pthread_mutex_destroy(&keyring->lock);
	free(keyring);
}

/* A cancellable that a POSIX timer cancels when the keyring_timeout of
 * one keyring operation has passed. GDBus bounds its method calls, but
 * not connecting to the bus or libsecret's setup of a session, which use
 * D-Bus's 25-second default or no bound at all. So every libsecret and
 * GIO call of the operation takes this cancellable. */
struct watchdog {
	GCancellable *cancellable;
	int done;		/* set by the timer's thread when it is through */
};

static void watchdog_fire(union sigval value)
{
	struct watchdog *watchdog = value.sival_ptr;

	g_cancellable_cancel(watchdog->cancellable);
	__atomic_store_n(&watchdog->done, 1, __ATOMIC_RELEASE);
}

/* One keyring operation with its deadline. */
struct keyring_call {
	struct watchdog *watchdog;
	GCancellable *cancellable;	/* NULL when out of memory */
	GMainContext *context;
	timer_t timer;
	int armed;
};

static void call_begin(const struct fc_keyring *keyring,
		       struct keyring_call *call)
{
	struct sigevent event;
	struct itimerspec expiry;
	struct watchdog *watchdog;

	memset(call, 0, sizeof(*call));
	/* GDBus and libsecret queue cleanups and replies on the thread's
	 * default main context. Hosts such as the Flow server or sshd never
	 * run GLib's global one, so those would pile up there: each
	 * operation gets a context of its own, drained when it ends. */
	call->context = g_main_context_new();
	g_main_context_push_thread_default(call->context);
	watchdog = calloc(1, sizeof(*watchdog));
	if (watchdog == NULL)
		return;
	watchdog->cancellable = g_cancellable_new();
	memset(&event, 0, sizeof(event));
	event.sigev_notify = SIGEV_THREAD;
	event.sigev_notify_function = watchdog_fire;
	event.sigev_value.sival_ptr = watchdog;
	memset(&expiry, 0, sizeof(expiry));
	expiry.it_value.tv_sec = keyring->timeout_ms / 1000;
	expiry.it_value.tv_nsec = (long)(keyring->timeout_ms % 1000) * 1000000;
	if (timer_create(CLOCK_MONOTONIC, &event, &call->timer) == 0) {
		if (timer_settime(call->timer, 0, &expiry, NULL) == 0)
			call->armed = 1;
		else
			timer_delete(call->timer);
	}
	call->watchdog = watchdog;
	call->cancellable = watchdog->cancellable;
}

/* Waits up to a second for a fired timer's thread to finish with the
 * watchdog. Returns 1 when it did. */
static int wait_for_watchdog(struct watchdog *watchdog)
{
	struct timespec pause = { 0, 1000000 };
	int i;

	for (i = 0; i < 1000; i++) {
		if (__atomic_load_n(&watchdog->done, __ATOMIC_ACQUIRE))
			return 1;
		nanosleep(&pause, NULL);
	}
	return 0;
}

static void call_end(struct keyring_call *call)
{
	struct itimerspec disarm;
	struct itimerspec before;

	if (call->context != NULL) {
		while (g_main_context_iteration(call->context, FALSE))
			;
		g_main_context_pop_thread_default(call->context);
		g_main_context_unref(call->context);
		call->context = NULL;
	}
	if (call->watchdog == NULL)
		return;
	if (call->armed) {
		/* Disarming returns the time that was left. None means the
		 * timer fired: its thread may still be using the watchdog, so
		 * wait for it, a few milliseconds at most in practice. */
		memset(&disarm, 0, sizeof(disarm));
		memset(&before, 0, sizeof(before));
		timer_settime(call->timer, 0, &disarm, &before);
		timer_delete(call->timer);
		if (before.it_value.tv_sec == 0 && before.it_value.tv_nsec == 0 &&
		    !wait_for_watchdog(call->watchdog)) {
			/* Still running after a second: leave it the
			 * memory rather than free it under its feet. */
			call->watchdog = NULL;
			return;
		}
	}
	g_object_unref(call->watchdog->cancellable);
	free(call->watchdog);
	call->watchdog = NULL;
}

/* Forgets the cached connection after a failure that suggests the
 * service or the bus went away, so the next call connects again. */
static void forget_service(struct fc_keyring *keyring, SecretService *service)
{
	pthread_mutex_lock(&keyring->lock);
	if (keyring->service == service)
		g_clear_object(&keyring->service);
	pthread_mutex_unlock(&keyring->lock);
}

/* Turns a GError from a Secret Service call into a status and a detail
 * with the admin's next step. */
/* Set by classify_error() when an operation failed because the service
 * it talked to is gone, as after a restart of the keyring daemon, so the
 * operation is worth one more try on a new connection. Per thread, since
 * one handle serves many threads. */
static __thread int connection_stale;

static int error_means_stale(const GError *error)
{
	return g_error_matches(error, G_DBUS_ERROR,
			       G_DBUS_ERROR_SERVICE_UNKNOWN) ||
	       g_error_matches(error, G_DBUS_ERROR,
			       G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
	       g_error_matches(error, G_DBUS_ERROR,
			       G_DBUS_ERROR_UNKNOWN_OBJECT) ||
	       g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED) ||
	       g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CLOSED) ||
	       g_error_matches(error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
}

static flowcred_status classify_error(struct fc_keyring *keyring,
				      SecretService *service,
				      const GError *error, const char *action,
				      char *detail, size_t detail_size)
{
	if (error_means_stale(error))
		connection_stale = 1;
	if (g_error_matches(error, SECRET_ERROR, SECRET_ERROR_IS_LOCKED)) {
		fc_detail(detail, detail_size,
			  "cannot %s: the keyring collection is locked; unlock "
			  "it (see \"Headless keyring\" in the README)", action);
		return FLOWCRED_UNAVAILABLE;
	}
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
	    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_TIMED_OUT) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY)) {
		forget_service(keyring, service);
		fc_detail(detail, detail_size,
			  "cannot %s: the Secret Service did not respond within "
			  "%d ms (keyring_timeout)", action,
			  keyring->timeout_ms);
		return FLOWCRED_UNAVAILABLE;
	}
	forget_service(keyring, service);
	fc_detail(detail, detail_size, "cannot %s: Secret Service error: %s",
		  action, error->message);
	return FLOWCRED_UNAVAILABLE;
}

/* Tells whether some process owns, or D-Bus can start, the Secret
 * Service, so a missing provider is reported as such and not as a
 * timeout. */
static int provider_present(GDBusConnection *bus, int timeout_ms,
			    GCancellable *cancellable)
{
	GVariant *reply;
	GVariantIter *names = NULL;
	const char *name;
	gboolean owned = FALSE;
	int found = 0;

	reply = g_dbus_connection_call_sync(bus, "org.freedesktop.DBus",
					    "/org/freedesktop/DBus",
					    "org.freedesktop.DBus",
					    "NameHasOwner",
					    g_variant_new("(s)",
							  SECRETS_BUS_NAME),
					    G_VARIANT_TYPE("(b)"),
					    G_DBUS_CALL_FLAGS_NONE, timeout_ms,
					    cancellable, NULL);
	if (reply != NULL) {
		g_variant_get(reply, "(b)", &owned);
		g_variant_unref(reply);
		if (owned)
			return 1;
	}
	reply = g_dbus_connection_call_sync(bus, "org.freedesktop.DBus",
					    "/org/freedesktop/DBus",
					    "org.freedesktop.DBus",
					    "ListActivatableNames", NULL,
					    G_VARIANT_TYPE("(as)"),
					    G_DBUS_CALL_FLAGS_NONE, timeout_ms,
					    cancellable, NULL);
	if (reply == NULL)
		return 0;
	g_variant_get(reply, "(as)", &names);
	while (!found && g_variant_iter_next(names, "&s", &name))
		found = strcmp(name, SECRETS_BUS_NAME) == 0;
	g_variant_iter_free(names);
	g_variant_unref(reply);
	return found;
}

/* Returns a new reference to the Secret Service connection, connecting
 * first when there is none or the old one was closed. */
static flowcred_status get_service(struct fc_keyring *keyring,
				   GCancellable *cancellable,
				   SecretService **service_out,
				   char *detail, size_t detail_size)
{
	flowcred_status status = FLOWCRED_UNAVAILABLE;
	struct sigaction host_sigpipe;
	GMainContext *service_context;
	GDBusConnection *bus = NULL;
	SecretService *service;
	GError *error = NULL;

	pthread_mutex_lock(&keyring->lock);
	if (keyring->service != NULL &&
	    g_dbus_connection_is_closed(
		    g_dbus_proxy_get_connection(G_DBUS_PROXY(keyring->service))))
		g_clear_object(&keyring->service);
	if (keyring->service != NULL) {
		*service_out = g_object_ref(keyring->service);
		status = FLOWCRED_OK;
		goto out;
	}

	__atomic_store_n(&bus_used, 1, __ATOMIC_RELAXED);
	/* GDBus sets SIGPIPE to ignored for the whole process when it
	 * first connects; the host's own setting is put back. GDBus writes
	 * with MSG_NOSIGNAL, so it needs no process-wide setting. */
	sigaction(SIGPIPE, NULL, &host_sigpipe);
	bus = g_bus_get_sync(G_BUS_TYPE_SESSION, cancellable, &error);
	sigaction(SIGPIPE, &host_sigpipe, NULL);
	if (bus == NULL && g_error_matches(error, G_IO_ERROR,
					   G_IO_ERROR_CANCELLED)) {
		fc_detail(detail, detail_size,
			  "the D-Bus session bus did not answer within %d ms "
			  "(keyring_timeout); check DBUS_SESSION_BUS_ADDRESS",
			  keyring->timeout_ms);
		goto out;
	}
	if (bus == NULL) {
		fc_detail(detail, detail_size,
			  "no D-Bus session bus (%s); run inside a session with "
			  "a running keyring, or set DBUS_SESSION_BUS_ADDRESS "
			  "(see \"Headless keyring\" in the README)",
			  error->message);
		goto out;
	}
	/* GLib's shared session bus ends the whole process when the bus
	 * closes unless exit-on-close is turned off, and a host must survive that. */
	g_dbus_connection_set_exit_on_close(bus, FALSE);
	if (!provider_present(bus, keyring->timeout_ms, cancellable)) {
		fc_detail(detail, detail_size,
			  "no Secret Service provider on the session bus; start "
			  "gnome-keyring-daemon --components=secrets (see "
			  "\"Headless keyring\" in the README)");
		goto out;
	}
	service_context = g_main_context_new();
	g_main_context_push_thread_default(service_context);
	sigaction(SIGPIPE, NULL, &host_sigpipe);
	service = secret_service_open_sync(SECRET_TYPE_SERVICE, NULL,
					   SECRET_SERVICE_OPEN_SESSION,
					   cancellable, &error);
	sigaction(SIGPIPE, &host_sigpipe, NULL);
	g_main_context_pop_thread_default(service_context);
	if (keyring->contexts != NULL)
		g_ptr_array_add(keyring->contexts, service_context);
	else
		g_main_context_unref(service_context);
	if (service == NULL && g_error_matches(error, G_IO_ERROR,
					       G_IO_ERROR_CANCELLED)) {
		fc_detail(detail, detail_size,
			  "the Secret Service did not answer within %d ms "
			  "(keyring_timeout); check that gnome-keyring-daemon "
			  "is running and not stopped", keyring->timeout_ms);
		goto out;
	}
	if (service == NULL) {
		fc_detail(detail, detail_size,
			  "cannot open the Secret Service: %s", error->message);
		goto out;
	}
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(service),
					 keyring->timeout_ms);
	keyring->service = service;
	*service_out = g_object_ref(service);
	status = FLOWCRED_OK;
out:
	pthread_mutex_unlock(&keyring->lock);
	if (bus != NULL)
		g_object_unref(bus);
	if (error != NULL)
		g_error_free(error);
	return status;
}

static GHashTable *new_attributes(const char *connector,
				  const char *flow_user, const char *ifs_user)
{
	GHashTable *attributes = g_hash_table_new(g_str_hash, g_str_equal);

	if (connector != NULL)
		g_hash_table_insert(attributes, (gpointer)"connector",
				    (gpointer)connector);
	if (flow_user != NULL)
		g_hash_table_insert(attributes, (gpointer)"flow-user",
				    (gpointer)flow_user);
	if (ifs_user != NULL)
		g_hash_table_insert(attributes, (gpointer)"ifs-user",
				    (gpointer)ifs_user);
	return attributes;
}

/* Finds the items matching the given attributes without unlocking
 * anything, so no prompt can appear. */
static flowcred_status search_items(struct fc_keyring *keyring,
				    SecretService *service,
				    GCancellable *cancellable,
				    const char *connector,
				    const char *flow_user, const char *action,
				    GList **items_out,
				    char *detail, size_t detail_size)
{
	GHashTable *attributes = new_attributes(connector, flow_user, NULL);
	flowcred_status status = FLOWCRED_OK;
	GError *error = NULL;
	GList *l;

	*items_out = secret_service_search_sync(service, &credential_schema,
						attributes,
						SECRET_SEARCH_ALL |
						SECRET_SEARCH_LOAD_SECRETS,
						cancellable, &error);
	if (error != NULL) {
		status = classify_error(keyring, service, error, action,
					detail, detail_size);
		g_error_free(error);
		g_list_free_full(*items_out, g_object_unref);
		*items_out = NULL;
	}
	for (l = *items_out; l != NULL; l = l->next)
		g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(l->data),
						 keyring->timeout_ms);
	g_hash_table_unref(attributes);
	return status;
}

static const char *item_attribute(GHashTable *attributes, const char *name)
{
	const char *value = g_hash_table_lookup(attributes, name);

	return value != NULL ? value : "";
}

/* Copies the item's secret into malloc'd memory: *password_out is NULL
 * for an empty secret (interactive user). */
static flowcred_status copy_secret(SecretItem *item, char **password_out,
				   char *detail, size_t detail_size)
{
	SecretValue *value = secret_item_get_secret(item);
	const char *bytes;
	gsize len = 0;
	char *copy;

	*password_out = NULL;
	if (value == NULL) {
		fc_detail(detail, detail_size,
			  "the keyring item's secret could not be loaded");
		return FLOWCRED_UNAVAILABLE;
	}
	bytes = secret_value_get(value, &len);
	if (len == 0) {
		secret_value_unref(value);
		return FLOWCRED_OK;
	}
	if (memchr(bytes, '\0', len) != NULL) {
		secret_value_unref(value);
		fc_detail(detail, detail_size,
			  "the stored password contains a NUL byte; store it "
			  "again with flowcred store");
		return FLOWCRED_NOT_FOUND;
	}
	copy = malloc(len + 1);
	if (copy != NULL) {
		memcpy(copy, bytes, len);
		copy[len] = '\0';
	}
	secret_value_unref(value);
	if (copy == NULL)
		return FLOWCRED_NO_MEMORY;
	*password_out = copy;
	return FLOWCRED_OK;
}

/* Picks the most recently modified item: after an interrupted store two
 * items may exist for one pair. */
static SecretItem *newest_item(GList *items)
{
	SecretItem *newest = NULL;
	GList *l;

	for (l = items; l != NULL; l = l->next) {
		if (newest == NULL || secret_item_get_modified(l->data) >
				      secret_item_get_modified(newest))
			newest = l->data;
	}
	return newest;
}

/* Reads a property of an item over D-Bus. Returns a new reference to
 * its value, or NULL. */
static GVariant *item_property(SecretService *service, const char *path,
			       const char *name, GCancellable *cancellable,
			       int timeout_ms)
{
	GDBusProxy *proxy = G_DBUS_PROXY(service);
	GVariant *reply;
	GVariant *value = NULL;

	reply = g_dbus_connection_call_sync(g_dbus_proxy_get_connection(proxy),
					    g_dbus_proxy_get_name(proxy), path,
					    "org.freedesktop.DBus.Properties",
					    "Get",
					    g_variant_new("(ss)",
							  "org.freedesktop.Secret.Item",
							  name),
					    G_VARIANT_TYPE("(v)"),
					    G_DBUS_CALL_FLAGS_NONE, timeout_ms,
					    cancellable, NULL);
	if (reply != NULL) {
		g_variant_get(reply, "(v)", &value);
		g_variant_unref(reply);
	}
	return value;
}

/* Looks up the IFS user of an item with two D-Bus calls (SearchItems and
 * the item's Attributes) instead of the nine that building SecretItem
 * proxies takes. Returns FLOWCRED_OK with *ifs_user set, or the failure;
 * *fall_back is set when not exactly one item matched and the full
 * search must decide. */
static flowcred_status lookup_by_path(struct fc_keyring *keyring,
				      SecretService *service,
				      GCancellable *cancellable,
				      const char *connector,
				      const char *flow_user, char **ifs_user,
				      int *fall_back,
				      char *detail, size_t detail_size)
{
	GHashTable *attributes = new_attributes(connector, flow_user, NULL);
	flowcred_status status = FLOWCRED_OK;
	gchar **unlocked = NULL;
	gchar **locked = NULL;
	GVariant *value = NULL;
	GError *error = NULL;
	const char *user = NULL;

	*fall_back = 0;
	if (!secret_service_search_for_dbus_paths_sync(service,
						       &credential_schema,
						       attributes, cancellable,
						       &unlocked, &locked,
						       &error)) {
		status = classify_error(keyring, service, error,
					"look up credentials", detail,
					detail_size);
		goto out;
	}
	if (g_strv_length(unlocked) + g_strv_length(locked) != 1) {
		*fall_back = 1;
		goto out;
	}
	if (unlocked[0] == NULL) {
		status = FLOWCRED_UNAVAILABLE;
		fc_detail(detail, detail_size,
			  "the keyring item for Flow user '%s' on connector '%s' "
			  "is in a locked collection; unlock it (see \"Headless "
			  "keyring\" in the README)", flow_user, connector);
		goto out;
	}
	value = item_property(service, unlocked[0], "Attributes", cancellable,
			      keyring->timeout_ms);
	if (value == NULL ||
	    !g_variant_is_of_type(value, G_VARIANT_TYPE("a{ss}")) ||
	    !g_variant_lookup(value, "ifs-user", "&s", &user) ||
	    user[0] == '\0') {
		*fall_back = 1;
		goto out;
	}
	*ifs_user = strdup(user);
	if (*ifs_user == NULL)
		status = FLOWCRED_NO_MEMORY;
out:
	if (value != NULL)
		g_variant_unref(value);
	if (error != NULL)
		g_error_free(error);
	g_strfreev(unlocked);
	g_strfreev(locked);
	g_hash_table_unref(attributes);
	return status;
}

static flowcred_status lookup_once(struct fc_keyring *keyring,
				   struct keyring_call *call,
				   const char *connector, const char *flow_user,
				   char **ifs_user_out, char **password_out,
				   char *detail, size_t detail_size)
{
	SecretService *service = NULL;
	GHashTable *attributes = NULL;
	GList *items = NULL;
	SecretItem *item;
	flowcred_status status;
	char *ifs_user = NULL;
	char *password = NULL;
	int fall_back = 0;

	status = get_service(keyring, call->cancellable, &service, detail,
			     detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	/* The fast path reads no secret: libsecret 0.20.5's
	 * secret_service_get_secret_for_dbus_path_sync() loses about a
	 * kilobyte a call, so stored passwords take the full search. */
	if (password_out != NULL)
		goto full_search;
	status = lookup_by_path(keyring, service, call->cancellable, connector,
				flow_user, &ifs_user, &fall_back, detail,
				detail_size);
	if (status != FLOWCRED_OK || !fall_back) {
		if (status == FLOWCRED_OK) {
			*ifs_user_out = ifs_user;
			ifs_user = NULL;
		}
		goto out;
	}
full_search:
	status = search_items(keyring, service, call->cancellable,
			      connector, flow_user,
			      "look up credentials", &items, detail,
			      detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	item = newest_item(items);
	if (item == NULL) {
		fc_detail(detail, detail_size,
			  "no keyring item for Flow user '%s' on connector '%s'; "
			  "store one with: flowcred store %s %s --ifs-user "
			  "IFS_USER", flow_user, connector, connector,
			  flow_user);
		status = FLOWCRED_NOT_FOUND;
		goto out;
	}
	if (secret_item_get_locked(item)) {
		fc_detail(detail, detail_size,
			  "the keyring item for Flow user '%s' on connector '%s' "
			  "is in a locked collection; unlock it (see \"Headless "
			  "keyring\" in the README)", flow_user, connector);
		status = FLOWCRED_UNAVAILABLE;
		goto out;
	}
	attributes = secret_item_get_attributes(item);
	ifs_user = strdup(item_attribute(attributes, "ifs-user"));
	if (ifs_user == NULL) {
		status = FLOWCRED_NO_MEMORY;
		goto out;
	}
	if (ifs_user[0] == '\0') {
		fc_detail(detail, detail_size,
			  "the keyring item for Flow user '%s' on connector '%s' "
			  "has no IFS user; store it again", flow_user,
			  connector);
		status = FLOWCRED_NOT_FOUND;
		goto out;
	}
	if (password_out != NULL) {
		status = copy_secret(item, &password, detail, detail_size);
		if (status != FLOWCRED_OK)
			goto out;
		*password_out = password;
		password = NULL;
	}
	*ifs_user_out = ifs_user;
	ifs_user = NULL;
out:
	free(ifs_user);
	fc_clear_string(&password);
	if (attributes != NULL)
		g_hash_table_unref(attributes);
	g_list_free_full(items, g_object_unref);
	if (service != NULL)
		g_object_unref(service);
	return status;
}

/* Deletes the items in items whose ifs-user differs from keep_ifs_user,
 * or all of them when keep_ifs_user is NULL. Returns how many were
 * deleted, or -1 with the status in *status_out. */
static int delete_items(struct fc_keyring *keyring, SecretService *service,
			GCancellable *cancellable, GList *items, const char *keep_ifs_user,
			flowcred_status *status_out,
			char *detail, size_t detail_size)
{
	GError *error = NULL;
	GHashTable *attributes;
	int deleted = 0;
	int keep;
	GList *l;

	for (l = items; l != NULL; l = l->next) {
		attributes = secret_item_get_attributes(l->data);
		keep = keep_ifs_user != NULL &&
		       strcmp(item_attribute(attributes, "ifs-user"),
			      keep_ifs_user) == 0;
		g_hash_table_unref(attributes);
		if (keep)
			continue;
		if (!secret_item_delete_sync(l->data, cancellable, &error)) {
			*status_out = classify_error(keyring, service, error,
						     "delete a keyring item",
						     detail, detail_size);
			g_error_free(error);
			return -1;
		}
		deleted++;
	}
	return deleted;
}

static flowcred_status store_once(struct fc_keyring *keyring,
				  struct keyring_call *call,
				  const char *connector, const char *flow_user,
				  const char *ifs_user, const char *password,
				  char *detail, size_t detail_size)
{
	SecretService *service = NULL;
	GHashTable *attributes = NULL;
	SecretValue *value = NULL;
	GList *items = NULL;
	GError *error = NULL;
	flowcred_status status;
	char *label = NULL;

	status = get_service(keyring, call->cancellable, &service, detail,
			     detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	if (asprintf(&label, "flowcred: %s / %s", connector, flow_user) < 0) {
		label = NULL;
		status = FLOWCRED_NO_MEMORY;
		goto out;
	}
	attributes = new_attributes(connector, flow_user, ifs_user);
	value = secret_value_new(password != NULL ? password : "", -1,
				 "text/plain");
	if (!secret_service_store_sync(service, &credential_schema, attributes,
				       SECRET_COLLECTION_DEFAULT, label, value,
				       call->cancellable, &error)) {
		status = classify_error(keyring, service, error,
					"store credentials", detail,
					detail_size);
		goto out;
	}
	/* The new item is in place. Only now are the pair's items that name
	 * a different IFS user deleted, so the pair always has an item. */
	status = search_items(keyring, service, call->cancellable,
			      connector, flow_user,
			      "store credentials", &items, detail,
			      detail_size);
	if (status == FLOWCRED_OK)
		delete_items(keyring, service, call->cancellable, items, ifs_user, &status,
			     detail, detail_size);
out:
	if (value != NULL)
		secret_value_unref(value);
	if (attributes != NULL)
		g_hash_table_unref(attributes);
	if (error != NULL)
		g_error_free(error);
	g_list_free_full(items, g_object_unref);
	free(label);
	if (service != NULL)
		g_object_unref(service);
	return status;
}

static flowcred_status clear_once(struct fc_keyring *keyring,
				  struct keyring_call *call,
				  const char *connector, const char *flow_user,
				  char *detail, size_t detail_size)
{
	SecretService *service = NULL;
	GList *items = NULL;
	flowcred_status status;
	int deleted;

	status = get_service(keyring, call->cancellable, &service, detail,
			     detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	status = search_items(keyring, service, call->cancellable,
			      connector, flow_user,
			      "clear credentials", &items, detail,
			      detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	deleted = delete_items(keyring, service, call->cancellable, items, NULL, &status, detail,
			       detail_size);
	if (deleted == 0) {
		fc_detail(detail, detail_size,
			  "no keyring item for Flow user '%s' on connector '%s'",
			  flow_user, connector);
		status = FLOWCRED_NOT_FOUND;
	}
out:
	g_list_free_full(items, g_object_unref);
	if (service != NULL)
		g_object_unref(service);
	return status;
}

struct list_entry {
	char *connector;
	char *flow_user;
	char *ifs_user;
	int has_password;
};

static int compare_entries(const void *a, const void *b)
{
	const struct list_entry *x = a;
	const struct list_entry *y = b;
	int c = strcmp(x->connector, y->connector);

	return c != 0 ? c : strcmp(x->flow_user, y->flow_user);
}

static flowcred_status collect_entry(SecretItem *item,
				     struct list_entry *entry)
{
	GHashTable *attributes = secret_item_get_attributes(item);
	SecretValue *value = secret_item_get_secret(item);
	gsize len = 0;

	if (value != NULL) {
		secret_value_get(value, &len);
		secret_value_unref(value);
	}
	entry->has_password = len > 0;
	entry->connector = strdup(item_attribute(attributes, "connector"));
	entry->flow_user = strdup(item_attribute(attributes, "flow-user"));
	entry->ifs_user = strdup(item_attribute(attributes, "ifs-user"));
	g_hash_table_unref(attributes);
	if (entry->connector == NULL || entry->flow_user == NULL ||
	    entry->ifs_user == NULL)
		return FLOWCRED_NO_MEMORY;
	return FLOWCRED_OK;
}

static flowcred_status list_once(struct fc_keyring *keyring,
				struct keyring_call *call,
				const char *connector,
				flowcred_list_func func, void *userdata,
				char *detail, size_t detail_size)
{
	struct list_entry *entries = NULL;
	SecretService *service = NULL;
	GList *items = NULL;
	flowcred_status status;
	size_t n = 0;
	size_t locked = 0;
	size_t i;
	GList *l;

	status = get_service(keyring, call->cancellable, &service, detail,
			     detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	status = search_items(keyring, service, call->cancellable,
			      connector, NULL,
			      "list credentials", &items, detail, detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	entries = calloc(g_list_length(items) + 1, sizeof(*entries));
	if (entries == NULL) {
		status = FLOWCRED_NO_MEMORY;
		goto out;
	}
	for (l = items; l != NULL; l = l->next) {
		if (secret_item_get_locked(l->data)) {
			locked++;
			continue;
		}
		status = collect_entry(l->data, &entries[n++]);
		if (status != FLOWCRED_OK)
			goto out;
	}
	if (locked > 0) {
		fc_detail(detail, detail_size,
			  "%zu keyring item%s in a locked collection; unlock "
			  "it (see \"Headless keyring\" in the README)", locked,
			  locked == 1 ? " is" : "s are");
		status = FLOWCRED_UNAVAILABLE;
		goto out;
	}
	qsort(entries, n, sizeof(*entries), compare_entries);
	for (i = 0; i < n; i++) {
		if (func(entries[i].connector, entries[i].flow_user,
			 entries[i].ifs_user, entries[i].has_password,
			 userdata) != 0)
			break;
	}
out:
	for (i = 0; entries != NULL && i < n; i++) {
		free(entries[i].connector);
		free(entries[i].flow_user);
		free(entries[i].ifs_user);
	}
	free(entries);
	g_list_free_full(items, g_object_unref);
	if (service != NULL)
		g_object_unref(service);
	return status;
}

/* Fails fast in a child of fork() once the parent used D-Bus, before any
 * GLib call: GDBus's worker thread did not survive the fork, and a lock a
 * parent thread held inside GLib at that moment would never be released.
 * Returns 1 when the operation must not run. */
static int refuse_after_fork(const struct fc_keyring *keyring, char *detail,
			     size_t detail_size)
{
	if (!keyring->forked)
		return 0;
	fc_detail(detail, detail_size,
		  "the keyring cannot be used in a child process after fork() "
		  "once the parent used D-Bus; open a new context after exec(), "
		  "or get the token before fork()");
	return 1;
}

/* One public operation with its arguments, so that one function can run
 * any of them under a deadline and retry. */
enum keyring_op_kind { OP_LOOKUP, OP_STORE, OP_CLEAR, OP_LIST };

struct keyring_op {
	enum keyring_op_kind kind;
	const char *connector;
	const char *flow_user;
	const char *ifs_user;		/* OP_STORE */
	const char *password;		/* OP_STORE */
	char **ifs_user_out;		/* OP_LOOKUP */
	char **password_out;		/* OP_LOOKUP */
	flowcred_list_func func;	/* OP_LIST */
	void *userdata;			/* OP_LIST */
};

static flowcred_status run_once(struct fc_keyring *keyring,
				struct keyring_call *call,
				const struct keyring_op *op,
				char *detail, size_t detail_size)
{
	switch (op->kind) {
	case OP_LOOKUP:
		return lookup_once(keyring, call, op->connector, op->flow_user,
				   op->ifs_user_out, op->password_out, detail,
				   detail_size);
	case OP_STORE:
		return store_once(keyring, call, op->connector, op->flow_user,
				  op->ifs_user, op->password, detail,
				  detail_size);
	case OP_CLEAR:
		return clear_once(keyring, call, op->connector, op->flow_user,
				  detail, detail_size);
	case OP_LIST:
		return list_once(keyring, call, op->connector, op->func,
				 op->userdata, detail, detail_size);
	}
	return FLOWCRED_INTERNAL;
}

/* Runs an operation under one deadline, and once more on a new
 * connection when the first attempt found the service gone, as after a
 * restart of the keyring daemon. */
static flowcred_status run(struct fc_keyring *keyring,
			   const struct keyring_op *op,
			   char *detail, size_t detail_size)
{
	struct keyring_call call;
	flowcred_status status = FLOWCRED_UNAVAILABLE;
	int attempt;

	if (refuse_after_fork(keyring, detail, detail_size))
		return FLOWCRED_UNAVAILABLE;
	call_begin(keyring, &call);
	for (attempt = 0; attempt < 2; attempt++) {
		connection_stale = 0;
		status = run_once(keyring, &call, op, detail, detail_size);
		if (status == FLOWCRED_OK || !connection_stale)
			break;
	}
	call_end(&call);
	return status;
}

flowcred_status fc_keyring_lookup(struct fc_keyring *keyring,
				  const char *connector, const char *flow_user,
				  char **ifs_user_out, char **password_out,
				  char *detail, size_t detail_size)
{
	const struct keyring_op op = {
		.kind = OP_LOOKUP, .connector = connector,
		.flow_user = flow_user, .ifs_user_out = ifs_user_out,
		.password_out = password_out,
	};

	return run(keyring, &op, detail, detail_size);
}

flowcred_status fc_keyring_store(struct fc_keyring *keyring,
				 const char *connector, const char *flow_user,
				 const char *ifs_user, const char *password,
				 char *detail, size_t detail_size)
{
	const struct keyring_op op = {
		.kind = OP_STORE, .connector = connector,
		.flow_user = flow_user, .ifs_user = ifs_user,
		.password = password,
	};

	return run(keyring, &op, detail, detail_size);
}

flowcred_status fc_keyring_clear(struct fc_keyring *keyring,
				 const char *connector, const char *flow_user,
				 char *detail, size_t detail_size)
{
	const struct keyring_op op = {
		.kind = OP_CLEAR, .connector = connector,
		.flow_user = flow_user,
	};

	return run(keyring, &op, detail, detail_size);
}

flowcred_status fc_keyring_list(struct fc_keyring *keyring,
				const char *connector,
				flowcred_list_func func, void *userdata,
				char *detail, size_t detail_size)
{
	const struct keyring_op op = {
		.kind = OP_LIST, .connector = connector, .func = func,
		.userdata = userdata,
	};

	return run(keyring, &op, detail, detail_size);
}
