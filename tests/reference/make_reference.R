# Reference results for earlyphase.stats (Kaplan-Meier, Nelson-Aalen, log-rank family, RMST).
#
# Run from the repository root:   Rscript tests/reference/make_reference.R
# Writes one JSON file per case to tests/reference/data/ (km_*.json, logrank_*.json, rmst_*.json).
# Each file stores the R version, the survival package version, the exact R calls, the input data
# and the results. The Python tests read these files; CI does not need R.
#
# Where R's survival package has no function, the script computes the reference itself and says so:
#  * Gehan-Breslow, Tarone-Ware and Fleming-Harrington(rho, gamma) weights: survdiff only has the
#    G-rho family, so wlr() below computes the weighted log-rank by the textbook formula
#    (weighted O - E and hypergeometric variance). wlr() is first checked against survdiff for
#    rho = 0 and rho = 1 (stopifnot), then used for the other weights.
#  * Test for trend: survdiff has none. The standard formula is used on survdiff's (or wlr's)
#    O - E vector and variance matrix with scores s:  U = s'(O - E), V = s' V s, chisq = U^2 / V, 1 df.
#  * Log-rank with integer case weights: survdiff has no weights argument; rows are replicated
#    (rep(..., w)), which is what integer case weights mean.
#  * RMST difference and ratio between two groups: from summary(survfit, rmean = tau)$table's
#    rmean and se(rmean): difference = r2 - r1, se = sqrt(se1^2 + se2^2); log ratio with
#    se = sqrt(se1^2/r1^2 + se2^2/r2^2).
#  * Reverse-KM median follow-up: quantile(survfit(Surv(time, 1 - event) ~ group), 0.5).

suppressPackageStartupMessages(library(survival))

outdir <- file.path("tests", "reference", "data")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

meta <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")))

# ------------------------------------------------------------------ tiny JSON writer (no jsonlite)
num <- function(x) {
  out <- sprintf("%.17g", x)
  out[is.nan(x) | is.na(x)] <- "NaN"
  out[is.infinite(x) & x > 0] <- "Infinity"
  out[is.infinite(x) & x < 0] <- "-Infinity"
  out
}
arr <- function(x) structure(list(x), class = "jsonarray")
to_json <- function(x) {
  if (inherits(x, "jsonarray")) {
    v <- x[[1]]
    if (is.character(v) || is.factor(v)) return(paste0("[", paste0('"', as.character(v), '"', collapse = ","), "]"))
    if (is.logical(v)) v <- as.numeric(v)
    if (length(v) == 0) return("[]")
    return(paste0("[", paste(num(as.numeric(v)), collapse = ","), "]"))
  }
  if (is.null(x)) return("null")
  if (is.list(x)) {
    nm <- names(x)
    if (is.null(nm)) return(paste0("[", paste(vapply(x, to_json, ""), collapse = ","), "]"))
    parts <- vapply(seq_along(x), function(i) paste0('"', nm[i], '":', to_json(x[[i]])), "")
    return(paste0("{", paste(parts, collapse = ","), "}"))
  }
  if (is.matrix(x)) return(paste0("[", paste(apply(x, 1, function(r) to_json(arr(r))), collapse = ","), "]"))
  if (is.character(x) || is.factor(x)) {
    if (length(x) == 1) return(paste0('"', gsub('"', '\\\\"', as.character(x)), '"'))
    return(to_json(arr(x)))
  }
  if (is.logical(x) && length(x) == 1 && !is.na(x)) return(if (x) "true" else "false")
  if (length(x) == 1) return(num(as.numeric(x)))
  to_json(arr(x))
}
write_case <- function(name, calls, data, results) {
  obj <- c(meta, list(case = name, calls = calls, data = data, results = results))
  writeLines(to_json(obj), file.path(outdir, paste0(name, ".json")))
  cat("wrote", name, "\n")
}
data_json <- function(d) {
  out <- list()
  for (nm in names(d)) out[[nm]] <- if (is.character(d[[nm]])) arr(d[[nm]]) else arr(as.numeric(d[[nm]]))
  out
}

# ------------------------------------------------------------------ data sets
set.seed(20261124)
mk <- function(n, groups, rate = 0.1, cens = 0.3, round_to = NULL) {
  g <- rep(groups, length.out = n)
  t <- rexp(n, rate)
  if (!is.null(round_to)) t <- pmax(round(t / round_to) * round_to, round_to)
  e <- as.numeric(runif(n) > cens)
  data.frame(time = t, event = e, group = as.character(g), stringsAsFactors = FALSE)
}
datasets <- list()
datasets$lifelines <- data.frame(time = c(1, 2, 3, 4), event = c(1, 1, 1, 1), group = "all", stringsAsFactors = FALSE)
datasets$flat_half <- data.frame(time = c(1, 2, 3, 4, 5, 6, 7, 8), event = c(1, 1, 0, 1, 0, 1, 1, 0), group = "all", stringsAsFactors = FALSE)
datasets$flat_end <- data.frame(time = c(1, 2, 3, 4), event = c(1, 1, 0, 0), group = "all", stringsAsFactors = FALSE)
datasets$ties3 <- mk(60, c("A", "B", "C"), round_to = 1)
datasets$untied2 <- mk(40, c("ctl", "trt"))
tiny <- do.call(rbind, lapply(1:6, function(k) {
  t <- round(rexp(k, 0.15), 1) + 0.1
  data.frame(time = t, event = as.numeric(runif(k) > 0.25), group = paste0("n", k), stringsAsFactors = FALSE)
}))
tiny$event[tiny$group == "n4"] <- 0  # an all-censored group
datasets$tiny <- tiny
seed <- mk(18, c("A", "B", "C", "D"), rate = 0.08, cens = 0.3, round_to = 0.5)
seed$group <- rep(c("A", "B", "C", "D"), c(3, 5, 5, 5))
datasets$seed4 <- seed
st <- mk(80, c("lo", "hi"), round_to = 1)
st$stratum <- rep(c("s1", "s2", "s3"), length.out = 80)
datasets$strata <- st
tr <- mk(30, c("A", "B"), round_to = 0.5)
tr$entry <- round(runif(30) * pmin(tr$time, 6) * 0.8 * 2) / 2
tr$entry <- pmin(tr$entry, tr$time - 0.5)
tr$entry <- pmax(tr$entry, 0)
datasets$trunc <- tr
wt <- mk(25, c("A", "B", "C"), round_to = 1)
wt$weight <- c(0, sample(1:4, 24, replace = TRUE))
datasets$weights <- wt

# ------------------------------------------------------------------ Kaplan-Meier and Nelson-Aalen
km_case <- function(name, d, entry = FALSE, weights = FALSE, landmarks = c(0, 2, 5, 10, 100)) {
  f <- if (entry) "Surv(entry, time, event) ~ group" else "Surv(time, event) ~ group"
  fml <- as.formula(f)
  res <- list()
  calls <- list()
  for (ct in c("log", "log-log", "plain")) for (lvl in c(0.95, 0.9)) {
    fit <- if (weights) survfit(fml, data = d, conf.type = ct, conf.int = lvl, weights = weight)
           else survfit(fml, data = d, conf.type = ct, conf.int = lvl)
    s <- summary(fit, censored = TRUE)
    st <- if (is.null(s$strata)) rep(unique(d$group)[1], length(s$time)) else sub("^group=", "", as.character(s$strata))
    q <- quantile(fit, probs = c(0.25, 0.5, 0.75))
    qm <- function(v) if (is.null(fit$strata)) matrix(v, nrow = 1) else as.matrix(v)
    qgroups <- if (is.null(fit$strata)) unique(d$group)[1] else sub("^group=", "", rownames(as.matrix(q$quantile)))
    lm <- summary(fit, times = landmarks, extend = TRUE)
    lst <- if (is.null(lm$strata)) rep(unique(d$group)[1], length(lm$time)) else sub("^group=", "", as.character(lm$strata))
    key <- paste0(ct, "_", lvl)
    res[[key]] <- list(
      conf_type = ct, conf_level = lvl,
      table = list(group = arr(st), time = arr(s$time), n_risk = arr(s$n.risk), n_event = arr(s$n.event),
                   n_censor = arr(s$n.censor), survival = arr(s$surv), std_err = arr(s$std.err),
                   lower = arr(s$lower), upper = arr(s$upper)),
      quantile = list(probs = arr(c(0.25, 0.5, 0.75)), groups = arr(qgroups),
                      quantile = qm(q$quantile), lower = qm(q$lower), upper = qm(q$upper)),
      landmarks = list(group = arr(lst), time = arr(lm$time), n_risk = arr(lm$n.risk), survival = arr(lm$surv),
                       std_err = arr(lm$std.err), lower = arr(lm$lower), upper = arr(lm$upper))
    )
    calls[[key]] <- paste0("survfit(", f, ", data = d, conf.type = '", ct, "', conf.int = ", lvl,
                           if (weights) ", weights = weight" else "", "); summary(fit, censored = TRUE); ",
                           "quantile(fit, probs = c(0.25, 0.5, 0.75)); summary(fit, times = c(",
                           paste(landmarks, collapse = ", "), "), extend = TRUE)")
  }
  fit <- if (weights) survfit(fml, data = d, weights = weight) else survfit(fml, data = d)
  grp <- if (is.null(fit$strata)) rep(unique(d$group)[1], length(fit$time)) else rep(sub("^group=", "", names(fit$strata)), fit$strata)
  res$nelson_aalen <- list(group = arr(grp), time = arr(fit$time), n_risk = arr(fit$n.risk), cumhaz = arr(fit$cumhaz),
                           std_chaz = arr(fit$std.chaz))
  calls$nelson_aalen <- paste0("fit <- survfit(", f, ", data = d", if (weights) ", weights = weight" else "", "); fit$cumhaz; fit$std.chaz")
  if (!entry && !weights) {
    rfit <- survfit(Surv(time, 1 - event) ~ group, data = d, conf.type = "log-log")
    rq <- quantile(rfit, probs = 0.5)
    fgroups <- if (is.null(rfit$strata)) unique(d$group)[1] else sub("^group=", "", rownames(as.matrix(rq$quantile)))
    res$followup <- list(groups = arr(fgroups),
                         median = arr(as.numeric(rq$quantile)), lower = arr(as.numeric(rq$lower)), upper = arr(as.numeric(rq$upper)))
    calls$followup <- "quantile(survfit(Surv(time, 1 - event) ~ group, data = d, conf.type = 'log-log'), probs = 0.5)"
  }
  write_case(paste0("km_", name), calls, data_json(d), res)
}
for (nm in c("lifelines", "flat_half", "flat_end", "ties3", "untied2", "tiny", "seed4")) km_case(nm, datasets[[nm]])
km_case("trunc", datasets$trunc, entry = TRUE)
km_case("weights", datasets$weights, weights = TRUE)

# ------------------------------------------------------------------ weighted log-rank by formula
wlr <- function(time, event, group, strata = NULL, weight = c("fh", "gehan", "tarone-ware"), rho = 0, gamma = 0) {
  weight <- match.arg(weight)
  lev <- sort(unique(group))
  k <- length(lev)
  if (is.null(strata)) strata <- rep(1, length(time))
  O <- E <- numeric(k)
  V <- matrix(0, k, k)
  for (s in unique(strata)) {
    ii <- strata == s
    tt <- time[ii]; ee <- event[ii]; gg <- group[ii]
    ut <- sort(unique(tt[ee == 1]))
    # pooled Kaplan-Meier just before each event time, over all event times of the stratum
    S <- 1
    for (t in ut) {
      n <- sum(tt >= t); d <- sum(tt == t & ee == 1)
      ng <- sapply(lev, function(l) sum(tt >= t & gg == l))
      dg <- sapply(lev, function(l) sum(tt == t & ee == 1 & gg == l))
      w <- switch(weight, fh = S^rho * (1 - S)^gamma, gehan = n, "tarone-ware" = sqrt(n))
      O <- O + w * dg
      E <- E + w * d * ng / n
      if (n > 1) {
        p <- ng / n
        V <- V + w^2 * d * (n - d) / (n - 1) * (diag(p, k) - outer(p, p))
      }
      S <- S * (1 - d / n)
    }
  }
  list(obs = O, exp = E, var = V)
}
chisq_r <- function(O, E, V) {
  df <- E > 0
  if (sum(df) < 2) return(c(0, 0))
  u <- ((O - E)[df])[-1]
  vv <- (V[df, df])[-1, -1, drop = FALSE]
  c(sum(solve(vv, u) * u), sum(df) - 1)
}

logrank_case <- function(name, d, strata = FALSE, case_weights = FALSE) {
  if (case_weights) {
    d <- d[rep(seq_len(nrow(d)), d$weight), ]
  }
  res <- list(); calls <- list()
  sfml <- if (strata) "Surv(time, event) ~ group + strata(stratum)" else "Surv(time, event) ~ group"
  k <- length(unique(d$group))
  scores <- seq_len(k)
  for (rho in c(0, 1)) {
    sd <- survdiff(as.formula(sfml), data = d, rho = rho)
    O <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
    E <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
    w <- wlr(d$time, d$event, d$group, if (strata) d$stratum else NULL, "fh", rho = rho, gamma = 0)
    stopifnot(isTRUE(all.equal(unname(w$obs), as.numeric(O), tolerance = 1e-12)),
              isTRUE(all.equal(unname(w$exp), as.numeric(E), tolerance = 1e-12)),
              isTRUE(all.equal(unname(w$var), unname(sd$var), tolerance = 1e-12)))
    key <- if (rho == 0) "logrank" else "peto"
    U <- sum(scores * (O - E)); Vt <- as.numeric(t(scores) %*% sd$var %*% scores)
    res[[key]] <- list(weights = key, rho = rho, gamma = 0, groups = arr(sort(unique(d$group))),
                       n = arr(as.numeric(table(d$group))),
                       observed = arr(as.numeric(O)), expected = arr(as.numeric(E)), variance = unname(sd$var),
                       statistic = sd$chisq, df = length(E[E > 0]) - 1, p_value = sd$pvalue,
                       trend = list(scores = arr(scores), u = U, var = Vt, statistic = U^2 / Vt,
                                    p_value = pchisq(U^2 / Vt, 1, lower.tail = FALSE)))
    calls[[key]] <- paste0("survdiff(", sfml, ", data = d, rho = ", rho, ")",
                           "; trend: U = sum(s * (O - E)), V = t(s) %*% var %*% s, s = 1:", k,
                           if (case_weights) "; rows replicated by case weight: d[rep(seq_len(nrow(d)), d$weight), ]" else "")
  }
  others <- list(gehan = list("gehan", 0, 0), "tarone-ware" = list("tarone-ware", 0, 0),
                 fh_0_1 = list("fh", 0, 1), fh_1_1 = list("fh", 1, 1), fh_0.5_2 = list("fh", 0.5, 2))
  for (key in names(others)) {
    o <- others[[key]]
    w <- wlr(d$time, d$event, d$group, if (strata) d$stratum else NULL, o[[1]], rho = o[[2]], gamma = o[[3]])
    cs <- chisq_r(w$obs, w$exp, w$var)
    U <- sum(scores * (w$obs - w$exp)); Vt <- as.numeric(t(scores) %*% w$var %*% scores)
    res[[key]] <- list(weights = o[[1]], rho = o[[2]], gamma = o[[3]], groups = arr(sort(unique(d$group))),
                       n = arr(as.numeric(table(d$group))),
                       observed = arr(w$obs), expected = arr(w$exp), variance = w$var,
                       statistic = cs[1], df = cs[2], p_value = pchisq(cs[1], cs[2], lower.tail = FALSE),
                       trend = list(scores = arr(scores), u = U, var = Vt, statistic = U^2 / Vt,
                                    p_value = pchisq(U^2 / Vt, 1, lower.tail = FALSE)))
    calls[[key]] <- paste0("wlr(time, event, group, ", if (strata) "stratum" else "NULL", ", '", o[[1]], "', rho = ", o[[2]],
                           ", gamma = ", o[[3]], ") (formula in this script, checked against survdiff)")
  }
  # trend with explicit, unequal scores
  sc <- c(0, 1, 3, 7, 8, 12)[seq_len(k)]
  sd <- survdiff(as.formula(sfml), data = d)
  O <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  E <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  U <- sum(sc * (O - E)); Vt <- as.numeric(t(sc) %*% sd$var %*% sc)
  res$trend_scores <- list(scores = arr(sc), u = U, var = Vt, statistic = U^2 / Vt, p_value = pchisq(U^2 / Vt, 1, lower.tail = FALSE))
  calls$trend_scores <- paste0("survdiff(", sfml, ", data = d); U = sum(s * (O - E)), V = t(s) %*% var %*% s, s = c(",
                               paste(sc, collapse = ", "), ")")
  dd <- if (case_weights) datasets$weights else d
  write_case(paste0("logrank_", name), calls, data_json(dd), res)
}
logrank_case("ties3", datasets$ties3)
logrank_case("untied2", datasets$untied2)
logrank_case("seed4", datasets$seed4)
logrank_case("tiny", datasets$tiny)
logrank_case("strata", datasets$strata, strata = TRUE)
logrank_case("weights", datasets$weights, case_weights = TRUE)

# ------------------------------------------------------------------ RMST
rmst_case <- function(name, d, taus) {
  res <- list(); calls <- list()
  for (tau in taus) {
    fit <- survfit(Surv(time, event) ~ group, data = d)
    tab <- summary(fit, rmean = tau)$table
    if (!is.matrix(tab)) tab <- t(as.matrix(tab))
    r <- tab[, "rmean"]; se <- tab[, "se(rmean)"]
    key <- paste0("tau_", tau)
    rgroups <- if (is.null(fit$strata)) unique(d$group)[1] else sub("^group=", "", rownames(tab))
    out <- list(tau = tau, groups = arr(rgroups), rmst = arr(r), se = arr(se))
    if (length(r) == 2) {
      z <- qnorm(0.975)
      dv <- r[2] - r[1]; dse <- sqrt(se[1]^2 + se[2]^2)
      lr <- log(r[2] / r[1]); lse <- sqrt(se[1]^2 / r[1]^2 + se[2]^2 / r[2]^2)
      out$difference <- list(estimate = dv, se = dse, lower = dv - z * dse, upper = dv + z * dse)
      out$ratio <- list(estimate = exp(lr), se_log = lse, lower = exp(lr - z * lse), upper = exp(lr + z * lse))
    }
    res[[key]] <- out
    calls[[key]] <- paste0("summary(survfit(Surv(time, event) ~ group, data = d), rmean = ", tau, ")$table[, c('rmean', 'se(rmean)')]")
  }
  write_case(paste0("rmst_", name), calls, data_json(d), res)
}
rmst_case("untied2", datasets$untied2, c(5, 10))
rmst_case("ties3", datasets$ties3, c(3, 8))
rmst_case("lifelines", datasets$lifelines, c(2.5, 4))

# ------------------------------------------------------------------ R's own data sets (issue 10)
# Written to tests/reference/data/datasets/*.csv by r_datasets.R; the CLI tests read those files
# as they are (status 1/2, NA, factor labels) and compare with the values below (rdata_*.json).
source(file.path("tests", "reference", "r_datasets.R"))
rd <- r_datasets()

km_summary <- function(fit, groups, conf) {
  s <- summary(fit, censored = TRUE)
  q <- quantile(fit, probs = c(0.25, 0.5, 0.75))
  tab <- summary(fit)$table
  if (!is.matrix(tab)) tab <- t(as.matrix(tab))
  list(
    conf_type = conf, groups = arr(groups),
    table = list(group = arr(sub("^[^=]*=", "", as.character(s$strata))), time = arr(s$time), n_risk = arr(s$n.risk),
                 n_event = arr(s$n.event), survival = arr(s$surv), std_err = arr(s$std.err), lower = arr(s$lower),
                 upper = arr(s$upper)),
    quantile = list(probs = arr(c(0.25, 0.5, 0.75)), quantile = unname(as.matrix(q$quantile)),
                    lower = unname(as.matrix(q$lower)), upper = unname(as.matrix(q$upper))),
    print_median = list(median = arr(tab[, "median"]), lower = arr(tab[, grep("LCL", colnames(tab))]),
                        upper = arr(tab[, grep("UCL", colnames(tab))])),
    n = arr(tab[, "records"]), events = arr(tab[, "events"]),
    n_omitted = length(fit$na.action)
  )
}

# lung: status 1 = censored, 2 = dead (R's Surv reads 1/2); KM by sex, landmarks past follow-up
fit <- survfit(Surv(time, status) ~ sex, data = rd$lung, conf.type = "log-log")
res <- list(km = km_summary(fit, c("1", "2"), "log-log"))
lm <- summary(fit, times = c(100, 365, 1000, 2000))
res$landmarks <- list(group = arr(sub("^sex=", "", as.character(lm$strata))), time = arr(lm$time), n_risk = arr(lm$n.risk),
                      survival = arr(lm$surv), std_err = arr(lm$std.err), lower = arr(lm$lower), upper = arr(lm$upper))
res$cumhaz <- list(group = arr(rep(c("1", "2"), fit$strata)), time = arr(fit$time), cumhaz = arr(fit$cumhaz),
                   std_chaz = arr(fit$std.chaz))
rm1 <- summary(fit, rmean = 1100)$table
res$rmst_extend <- list(tau = 1100, rmst = arr(rm1[, "rmean"]), se = arr(rm1[, "se(rmean)"]),
                        last_time = arr(tapply(rd$lung$time, rd$lung$sex, max)))
cc <- concordance(Surv(time, status) ~ age, data = rd$lung)
res$concordance_age <- list(concordance = unname(cc$concordance), std_err = unname(sqrt(cc$var)),
                            counts = arr(unname(cc$count[c("concordant", "discordant", "tied.x", "tied.y", "tied.xy")])))
cc2 <- concordance(Surv(time, status) ~ ph.karno, data = rd$lung, reverse = TRUE)
res$concordance_karno_reverse <- list(concordance = unname(cc2$concordance), std_err = unname(sqrt(cc2$var)),
                                      n = cc2$n, n_omitted = nrow(rd$lung) - cc2$n)
write_case("rdata_lung", list(
  km = "fit <- survfit(Surv(time, status) ~ sex, data = lung, conf.type = 'log-log'); summary(fit, censored = TRUE); quantile(fit, c(.25, .5, .75)); summary(fit)$table",
  landmarks = "summary(fit, times = c(100, 365, 1000, 2000))  # extend = FALSE: times after the last follow-up left out",
  cumhaz = "fit$cumhaz; fit$std.chaz",
  rmst_extend = "summary(fit, rmean = 1100)$table[, c('rmean', 'se(rmean)')]  # 1100 is after both groups' last time",
  concordance_age = "concordance(Surv(time, status) ~ age, data = lung)",
  concordance_karno_reverse = "concordance(Surv(time, status) ~ ph.karno, data = lung, reverse = TRUE)"),
  list(file = "datasets/lung.csv"), res)

# lung: log-rank by ph.ecog (one missing ph.ecog: R leaves the row out)
sd <- survdiff(Surv(time, status) ~ ph.ecog, data = rd$lung)
write_case("rdata_lung_logrank_ecog", list(logrank = "survdiff(Surv(time, status) ~ ph.ecog, data = lung)"),
           list(file = "datasets/lung.csv"),
           list(groups = arr(c("0", "1", "2", "3")), n = arr(sd$n), observed = arr(sd$obs), expected = arr(sd$exp),
                variance = unname(sd$var), statistic = sd$chisq, df = length(sd$n) - 1, p_value = sd$pvalue,
                n_omitted = sum(is.na(rd$lung$ph.ecog))))

# pbc: status 0 = censored, 1 = transplant, 2 = dead; trt missing for 106 (not randomised)
fit <- survfit(Surv(time, status == 2) ~ trt, data = rd$pbc, conf.type = "log-log")
sd <- survdiff(Surv(time, status == 2) ~ trt, data = rd$pbc)
write_case("rdata_pbc", list(km = "survfit(Surv(time, status == 2) ~ trt, data = pbc, conf.type = 'log-log')",
                             logrank = "survdiff(Surv(time, status == 2) ~ trt, data = pbc)"),
           list(file = "datasets/pbc.csv"),
           list(km = km_summary(fit, c("1", "2"), "log-log"),
                logrank = list(n = arr(sd$n), observed = arr(sd$obs), expected = arr(sd$exp), statistic = sd$chisq,
                               p_value = sd$pvalue, n_omitted = sum(is.na(rd$pbc$trt)))))

# trend tests: flchain's flc.grp 1..10 (numbers) and rotterdam's size (<=20, 20-50, >50: a factor order)
trend_of <- function(sd, s) {
  O <- sd$obs; E <- sd$exp; U <- sum(s * (O - E)); V <- as.numeric(t(s) %*% sd$var %*% s)
  list(scores = arr(s), u = U, var = V, statistic = U^2 / V, p_value = pchisq(U^2 / V, 1, lower.tail = FALSE))
}
sd <- survdiff(Surv(futime, death) ~ flc.grp, data = rd$flchain)
sd2 <- survdiff(Surv(dtime, death) ~ size, data = rd$rotterdam)
write_case("rdata_trend", list(
  flchain = "survdiff(Surv(futime, death) ~ flc.grp, data = flchain); U = sum(s * (O - E)), V = t(s) %*% var %*% s, s = 1:10",
  rotterdam = "survdiff(Surv(dtime, death) ~ size, data = rotterdam)  # levels <=20, 20-50, >50; s = 1:3"),
  list(files = arr(c("datasets/flchain.csv", "datasets/rotterdam.csv"))),
  list(flchain = c(list(groups = arr(as.character(1:10)), observed = arr(sd$obs), expected = arr(sd$exp),
                        statistic = sd$chisq), trend_of(sd, 1:10)),
       rotterdam = c(list(groups = arr(levels(rd$rotterdam$size)), observed = arr(sd2$obs), expected = arr(sd2$exp),
                          statistic = sd2$chisq), trend_of(sd2, 1:3))))

# ovarian: RMST to a tau after every group's last time (R carries the last value forward)
fit <- survfit(Surv(futime, fustat) ~ rx, data = rd$ovarian)
tab <- summary(fit, rmean = 1300)$table
write_case("rdata_ovarian_rmst", list(rmst = "summary(survfit(Surv(futime, fustat) ~ rx, data = ovarian), rmean = 1300)$table"),
           list(file = "datasets/ovarian.csv"),
           list(tau = 1300, groups = arr(c("1", "2")), rmst = arr(tab[, "rmean"]), se = arr(tab[, "se(rmean)"]),
                last_time = arr(tapply(rd$ovarian$futime, rd$ovarian$rx, max))))

# the median rule: a curve that ends exactly at 0.5 (1, 2 dead; 3, 4 censored)
toy <- data.frame(time = c(1, 2, 3, 4), status = c(1, 1, 0, 0))
fit <- survfit(Surv(time, status) ~ 1, data = toy)
tab <- summary(fit)$table
write_case("rdata_median_rule", list(quantile = "quantile(fit, 0.5)", print = "summary(fit)$table['median'] (as print(fit))"),
           data_json(toy),
           list(quantile_median = unname(quantile(fit, 0.5)$quantile), quantile_lower = unname(quantile(fit, 0.5)$lower),
                quantile_upper = unname(quantile(fit, 0.5)$upper), print_median = unname(tab["median"]),
                print_lower = unname(tab["0.95LCL"]), print_upper = unname(tab["0.95UCL"])))

# timefix: flchain on the age scale, exits 1e-14 apart merged by R (aeqSurv) unless timefix = FALSE
tf <- list()
for (fix in c(TRUE, FALSE)) {
  fit <- survfit(Surv(age, exit_age, death) ~ sex, data = rd$flchain_age, timefix = fix)
  key <- if (fix) "timefix" else "no_timefix"
  tf[[key]] <- list(group = arr(rep(c("F", "M"), fit$strata)), time = arr(fit$time), n_risk = arr(fit$n.risk),
                    n_event = arr(fit$n.event), survival = arr(fit$surv))
}
write_case("rdata_flchain_timefix", list(
  timefix = "survfit(Surv(age, exit_age, death) ~ sex, data = flchain_age)  # exit_age = age + futime / 365.25, futime > 0",
  no_timefix = "survfit(Surv(age, exit_age, death) ~ sex, data = flchain_age, timefix = FALSE)"),
  list(file = "datasets/flchain_age.csv"), tf)
