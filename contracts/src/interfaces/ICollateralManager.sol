// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ICollateralManager
/// @notice Car-collateral loans, their liens, the reports that feed them, the rules that open disposal cases by
/// themselves, and the disposal workflow each case then follows.
///
/// Loans and liens. A bank registers a loan against a subject (a vehicle's keyed id); the loan's lien is `Pending`
/// until the DMV oracle confirms it (`Active`), and `Released` when the case that disposed of the vehicle settles,
/// when the DMV reports the lien released (the loan was repaid), or when the bank cancels a loan still `Pending`.
/// A subject holds at most one lien that is `Pending` or `Active` at any time: registering a second loan against it
/// fails with `CollateralLienExists` until the first lien is released. That lien's loan is `activeLoanOf(subject)`.
///
/// Reports. Every report carries the digest of its evidence (never zero) and is emitted with it; reports apply only
/// to a loan whose lien is `Active`. Repayment status comes from the loan's bank, valuations from price oracles,
/// telematics alerts from telematics oracles, DMV events from the DMV oracle, risk-score warnings from the roles
/// governance names (`Parameters.riskReporterRoles`).
///
/// Rules (run inside the reporting transaction; a report sets one or more `Cause` bits, and all of them are recorded
/// on the loan's case and emitted in one `RulesFired`):
///   breach (opens or escalates a case to `Triggered`, starting the cure period):
///     - `OverdueBreach`       daysOverdue > terms.maxOverdueDays
///     - `ValueDrop`           (baseline - value) * 10_000 > baseline * valueMoveBps   (strictly beyond, no rounding)
///     - `LoanToValue`         outstanding * 10_000 > value * terms.maxLtvBps           (checked on valuations and on
///                             repayment reports, with the latest value and outstanding balance)
///     - `TelematicsBreach`    a High or Critical telematics alert
///     - `DmvSeizure`, `DmvTransferAttempt`, `DmvScrapping`
///   warning (opens a case in `Watch`, never escalates one):
///     - `OverdueWatch`        terms.watchOverdueDays < daysOverdue <= terms.maxOverdueDays
///     - `ValueRise`           (value - baseline) * 10_000 > baseline * valueMoveBps
///     - `TelematicsWatch`     a Medium telematics alert (a Low alert is only recorded)
///     - `RiskWarning`         a risk score strictly under `Parameters.riskWatchScore`
/// A move of exactly `valueMoveBps` (e.g. exactly 8.00%) is not beyond the threshold; any value past it (8.0001%) is.
/// `valueMoveBps` is the loan's own term, or the consortium default (`Parameters.defaultValueMoveBps`, read at each
/// valuation) when the loan was registered with 0.
///
/// Valuations are aggregated before any rule sees them. Each price oracle member's latest report on a loan is kept
/// as its observation (value, time), one per member id however many accounts it signs with; a newer report of the
/// same member replaces its older one. A loan remembers at most `MAX_VALUATION_REPORTERS` members: a further member's
/// report takes the place of the stalest observation. An observation is fresh while `reportedAt + maxAge >= now`.
/// When a report leaves at least `ValuationPolicy.quorum` fresh observations, their median becomes the loan's
/// `lastValue` (`lastValuedAt` = now, `ValuationAggregated` emitted) and the value-move and loan-to-value rules above
/// run on that median; with an even count the median is the mean of the two middle values, rounded down. Below the
/// quorum the report is only recorded: no rule runs and `lastValue` stays. With a quorum of 3, one outlying reporter
/// cannot move the median past a threshold on its own. `valuationOf` serves the latest median only while it is no
/// older than `maxAge`. The default policy (quorum 1, 7 days) makes every single report its own median.
///
/// Case states and who moves them (each move is one `CaseStateChanged(caseId, from, to, evidenceDigest)`):
///   None  -> Watch | Triggered                          a rule opens a new case (a loan's closed case never reopens:
///                                                       the next rule that fires opens a new case id)
///   Watch -> Triggered                                  a breach rule
///   Watch -> None                                       the bank clears the watch (`clearWatch`), or the DMV reports
///                                                       the lien released; the case is closed for good
///   Triggered -> Cured (final)                          the bank reports daysOverdue 0 within the cure period, and
///                                                       the case's only breach cause is `OverdueBreach`
///   Triggered -> RepossessionOrdered                    the bank, after the cure period, assigns an agency
///   RepossessionOrdered -> Repossessed -> Appraised -> Auctioned -> Settled (final, lien released)
///                                                       the assigned agency, each step before its deadline
///   Triggered..Auctioned -> Frozen                      a dispute raised by the bank or the assigned agency
///   Frozen -> (the state it froze)                      governance restores it; its deadline moves by the time frozen
///   Frozen -> None                                      governance closes it; the case is closed for good, the loan
///                                                       and its lien stay as they were
/// Only breaches caused by overdue payments can be cured: a value drop, a loan-to-value breach, a severe telematics
/// alert or a DMV event is about the collateral itself and a payment does not undo it.
/// Rules keep recording causes on a case past `Triggered` (so the record is complete) but only move a case that is
/// in `None`, `Watch` or closed (a new case is opened then).
///
/// Deadlines. In `Triggered` the case's deadline is the end of the cure period (`triggeredAt + curePeriod`): the
/// cure is possible while `now <= deadline`, repossession may be ordered once `now > deadline`. Each agency step
/// (`RepossessionOrdered`, `Repossessed`, `Appraised`, `Auctioned`) must be done by `now + terms.stepDeadline` from
/// the step before; once `now > deadline` anyone may `escalate`, and after an escalation the bank may
/// `reassignAgency` (which starts a new deadline for the same step).
interface ICollateralManager {
    // ---------------------------------------------------------------- types

    enum LienStatus {
        None,
        Pending,
        Active,
        Released
    }

    enum CaseState {
        None,
        Watch,
        Triggered,
        Cured,
        RepossessionOrdered,
        Repossessed,
        Appraised,
        Auctioned,
        Settled,
        Frozen
    }

    /// @dev The reason a rule fired; a case records the causes it has seen as a mask of `1 << uint8(cause)`.
    enum Cause {
        OverdueWatch,
        OverdueBreach,
        ValueRise,
        ValueDrop,
        LoanToValue,
        TelematicsWatch,
        TelematicsBreach,
        DmvSeizure,
        DmvTransferAttempt,
        DmvScrapping,
        RiskWarning
    }

    enum Severity {
        Low,
        Medium,
        High,
        Critical
    }

    /// @dev `LienReleased`: the DMV deregistered the lien (the loan was repaid). It releases the loan's lien and
    /// closes the loan when the loan has no case in progress (no case, a closed or cured one, or `Watch`, which is
    /// then closed); while a case is `Triggered` or further, or `Frozen`, it is refused with
    /// `CollateralCaseInProgress`: a disposal must settle, or governance close it, before the lien goes.
    enum DmvEventKind {
        Seizure,
        TransferAttempt,
        Scrapping,
        LienReleased
    }

    /// @param maxOverdueDays Days overdue beyond which (strictly) the loan is in breach, e.g. 90.
    /// @param watchOverdueDays Days overdue beyond which (strictly) the loan is on watch, e.g. 30; below maxOverdueDays.
    /// @param maxLtvBps Highest loan-to-value (outstanding / latest value) in basis points, 1..10 000.
    /// @param valueMoveBps Residual-value move from the baseline, in basis points (0..10 000), beyond which a drop
    /// is a breach and a rise a warning; 0 follows the consortium default (800 unless governance changes it).
    /// @param curePeriod Seconds after a trigger during which the borrower may cure; at least `minCurePeriod`.
    /// @param stepDeadline Seconds the disposal agency has for each step; at least `minStepDeadline`.
    struct LoanTerms {
        uint16 maxOverdueDays;
        uint16 watchOverdueDays;
        uint16 maxLtvBps;
        uint16 valueMoveBps;
        uint32 curePeriod;
        uint32 stepDeadline;
    }

    /// @param subject The vehicle's subject id.
    /// @param principal Amount lent, in the smallest currency unit.
    /// @param outstanding Latest reported outstanding balance.
    /// @param baselineValue The vehicle's value when the loan was registered; value moves are measured from it.
    /// @param lastValue Latest reported value (the baseline until a valuation arrives).
    /// @param bankMemberId The lending bank's member id.
    /// @param lienStatus The loan's lien.
    /// @param registeredAt When the loan was registered.
    /// @param daysOverdue Latest reported days overdue.
    /// @param lastValuedAt When `lastValue` was last set by an aggregated valuation (0: never, it is the baseline).
    /// @param terms The loan's terms as registered (`valueMoveBps` 0 means the consortium default).
    /// @param caseId The loan's latest case (0 if it never had one); it may be closed (`None`), `Cured` or `Settled`.
    struct Loan {
        bytes32 subject;
        uint128 principal;
        uint128 outstanding;
        uint128 baselineValue;
        uint128 lastValue;
        uint64 bankMemberId;
        LienStatus lienStatus;
        uint40 registeredAt;
        uint16 daysOverdue;
        uint40 lastValuedAt;
        LoanTerms terms;
        uint256 caseId;
    }

    /// @param loanId The loan the case is about.
    /// @param state The case's state.
    /// @param frozenFrom The state a `Frozen` case froze (`None` otherwise).
    /// @param escalated Whether the current step's missed deadline was escalated (cleared by the next step or a
    /// reassignment).
    /// @param causes Mask of every `Cause` recorded on the case (`1 << uint8(cause)`).
    /// @param agencyMemberId The assigned disposal agency (0 before repossession is ordered).
    /// @param triggeredAt When the case became `Triggered` (0 while only watched).
    /// @param deadline End of the cure period (`Triggered`) or of the current agency step; 0 in `Watch` and once
    /// `Settled`.
    /// @param frozenAt When the case froze (0 unless `Frozen`).
    /// @param appraisedValue The agency's appraisal.
    /// @param salePrice The auction's sale price.
    struct Case {
        uint256 loanId;
        CaseState state;
        CaseState frozenFrom;
        bool escalated;
        uint16 causes;
        uint64 agencyMemberId;
        uint40 triggeredAt;
        uint40 deadline;
        uint40 frozenAt;
        uint128 appraisedValue;
        uint128 salePrice;
    }

    /// @notice The consortium-wide limits and defaults that governance sets ("trigger thresholds").
    /// @param defaultValueMoveBps Value-move threshold for loans registered with `valueMoveBps` 0, 1..10 000.
    /// @param riskWatchScore A risk score strictly under this puts the loan on watch (0 disables the rule), <= 10 000.
    /// @param minCurePeriod The shortest cure period a loan may be registered with, in seconds.
    /// @param minStepDeadline The shortest step deadline a loan may be registered with, in seconds (at least 1).
    /// @param riskReporterRoles Role mask whose holders may report risk warnings (0: nobody).
    struct Parameters {
        uint16 defaultValueMoveBps;
        uint16 riskWatchScore;
        uint32 minCurePeriod;
        uint32 minStepDeadline;
        uint256 riskReporterRoles;
    }

    /// @notice How valuations are aggregated, set by governance (kept apart from `Parameters`).
    /// @param quorum Fresh observations needed before their median is published, 1..`MAX_VALUATION_REPORTERS`.
    /// @param maxAge Seconds an observation counts as fresh, and a published median is served by `valuationOf`; >= 1.
    struct ValuationPolicy {
        uint8 quorum;
        uint32 maxAge;
    }

    // ---------------------------------------------------------------- errors

    error CollateralInvalidMembership();
    error CollateralOnlyGovernance(address caller);
    error CollateralUnauthorizedAccount(address account, uint256 requiredRoles);
    error CollateralNotLoanBank(uint256 loanId, address account);
    error CollateralNotCaseParty(uint256 caseId, address account);
    error CollateralInvalidParameters(Parameters parameters);
    error CollateralInvalidValuationPolicy(ValuationPolicy policy);
    error CollateralInvalidSubject(bytes32 subject);
    error CollateralInvalidAmounts(uint128 principal, uint128 outstanding, uint128 baselineValue);
    error CollateralInvalidTerms(LoanTerms terms);
    error CollateralInvalidScore(uint16 score);
    error CollateralMissingEvidence();
    error CollateralLienExists(bytes32 subject, uint256 loanId);
    error CollateralUnknownLoan(uint256 loanId);
    error CollateralNoActiveLoan(bytes32 subject);
    /// @notice The loan's lien is not in a status the call accepts.
    /// @param loanId The loan.
    /// @param current The lien's status.
    /// @param expectedStates The statuses the call would have accepted, as a bitmap: bit `i` (`1 << i`) is set when
    /// the status with enum value `i` would have been accepted.
    error CollateralUnexpectedLienStatus(uint256 loanId, LienStatus current, bytes32 expectedStates);
    error CollateralCaseInProgress(uint256 loanId, uint256 caseId);
    error CollateralUnknownCase(uint256 caseId);
    /// @notice The case is not in a state the call accepts.
    /// @param caseId The case.
    /// @param current The case's state.
    /// @param expectedStates The states the call would have accepted, as a bitmap: bit `i` (`1 << i`) is set when the
    /// state with enum value `i` would have been accepted.
    error CollateralUnexpectedCaseState(uint256 caseId, CaseState current, bytes32 expectedStates);
    error CollateralStaleValuation(bytes32 subject, uint40 updatedAt);
    error DisposalInvalidAgency(uint64 agencyMemberId);
    error DisposalNotAssignedAgency(uint256 caseId, address account);
    error DisposalCurePeriodRunning(uint256 caseId, uint40 cureEndsAt);
    error DisposalDeadlineNotPassed(uint256 caseId, uint40 deadline);
    error DisposalAlreadyEscalated(uint256 caseId);
    error DisposalNotEscalated(uint256 caseId);

    // ---------------------------------------------------------------- events

    event ParametersChanged(Parameters parameters);
    event ValuationPolicyChanged(ValuationPolicy policy);
    event LoanRegistered(
        uint256 indexed loanId,
        bytes32 indexed subject,
        uint64 indexed bankMemberId,
        uint128 principal,
        uint128 outstanding,
        uint128 baselineValue,
        LoanTerms terms,
        bytes32 evidenceDigest
    );
    event LienStatusChanged(
        uint256 indexed loanId, bytes32 indexed subject, LienStatus from, LienStatus to, bytes32 evidenceDigest
    );
    event RepaymentReported(
        uint256 indexed loanId,
        bytes32 indexed subject,
        uint64 indexed reporterMemberId,
        uint16 daysOverdue,
        uint128 outstanding,
        bytes32 evidenceDigest
    );
    event ValuationReported(
        uint256 indexed loanId,
        bytes32 indexed subject,
        uint64 indexed reporterMemberId,
        uint128 value,
        bytes32 evidenceDigest
    );
    /// @dev A report brought the fresh observations to the quorum: `value` is their median, now the loan's
    /// `lastValue`; `reporters` is how many observations it was taken over; `evidenceDigest` is that report's.
    event ValuationAggregated(
        uint256 indexed loanId, bytes32 indexed subject, uint128 value, uint8 reporters, bytes32 evidenceDigest
    );
    event TelematicsAlertReported(
        uint256 indexed loanId,
        bytes32 indexed subject,
        uint64 indexed reporterMemberId,
        uint16 alertKind,
        Severity severity,
        bytes32 evidenceDigest
    );
    event DmvEventReported(
        uint256 indexed loanId,
        bytes32 indexed subject,
        uint64 indexed reporterMemberId,
        DmvEventKind eventKind,
        bytes32 evidenceDigest
    );
    event RiskWarningReported(
        uint256 indexed loanId,
        bytes32 indexed subject,
        uint64 indexed reporterMemberId,
        uint16 score,
        bytes32 evidenceDigest
    );
    /// @dev `causes` is the mask of the causes this report set, `caseId` the case they were recorded on.
    event RulesFired(uint256 indexed loanId, uint256 indexed caseId, uint16 causes);
    event CaseOpened(uint256 indexed caseId, uint256 indexed loanId);
    event CaseStateChanged(uint256 indexed caseId, CaseState from, CaseState to, bytes32 evidenceDigest);
    event AgencyAssigned(
        uint256 indexed caseId, uint64 indexed agencyMemberId, uint40 deadline, bytes32 evidenceDigest
    );
    event AppraisalRecorded(uint256 indexed caseId, uint128 appraisedValue);
    event AuctionRecorded(uint256 indexed caseId, uint128 salePrice);
    event CaseEscalated(
        uint256 indexed caseId, uint64 indexed agencyMemberId, CaseState state, uint40 deadline, address escalatedBy
    );
    event FreezeResolved(uint256 indexed caseId, bool restored, uint40 deadline);

    // ---------------------------------------------------------------- governance

    /// @notice Replaces the consortium-wide limits and defaults. Governance only.
    /// @dev Checked: `defaultValueMoveBps` in 1..10 000, `riskWatchScore` <= 10 000, `minStepDeadline` >= 1,
    /// `riskReporterRoles` only defined role bits. Applies at once: loans registered with `valueMoveBps` 0 follow the
    /// new default from their next valuation; the minimums bind only loans registered afterwards.
    /// Emits `ParametersChanged`.
    function setParameters(Parameters calldata newParameters) external;

    /// @notice Replaces the valuation policy (quorum and maximum age). Governance only.
    /// @dev Checked: `quorum` in 1..`MAX_VALUATION_REPORTERS`, `maxAge` >= 1 (`CollateralInvalidValuationPolicy`).
    /// Applies at once to `valuationOf`, and to aggregation from the next report (nothing is recomputed now).
    /// Emits `ValuationPolicyChanged`.
    function setValuationPolicy(ValuationPolicy calldata newPolicy) external;

    /// @notice Settles a `Frozen` case's dispute. Governance only.
    /// @param restore True: the case returns to the state it froze, its deadline moved forward by the time it spent
    /// frozen (an escalation made before the freeze stands). False: the case is closed (`None`) for good; the loan
    /// and its lien stay as they were, and the next rule that fires opens a new case.
    /// @param evidenceDigest Digest of the ruling.
    /// @dev Emits `CaseStateChanged` and `FreezeResolved`.
    function resolveFreeze(uint256 caseId, bool restore, bytes32 evidenceDigest) external;

    // ---------------------------------------------------------------- loans and liens

    /// @notice Registers a loan against a subject; its lien is `Pending` until the DMV oracle confirms it.
    /// @dev Only an active BANK member's account; the loan belongs to that member (any of its accounts may act on
    /// it). Refused when the subject already has a `Pending` or `Active` lien (`CollateralLienExists`), when
    /// `principal` or `baselineValue` is 0, `outstanding > principal` or the loan-to-value already exceeds
    /// `maxLtvBps` (`CollateralInvalidAmounts`), or when the terms break their bounds (`CollateralInvalidTerms`).
    /// @param evidenceDigest Digest of the loan agreement.
    /// @return loanId The new loan's id (sequential from 1).
    function registerLoan(
        bytes32 subject,
        uint128 principal,
        uint128 outstanding,
        uint128 baselineValue,
        LoanTerms calldata terms,
        bytes32 evidenceDigest
    ) external returns (uint256 loanId);

    /// @notice Confirms a `Pending` lien as registered at the DMV (`Active`). Only a DMV_ORACLE member's account.
    /// @param evidenceDigest Digest of the DMV's lien record.
    function confirmLien(uint256 loanId, bytes32 evidenceDigest) external;

    /// @notice Withdraws a loan whose lien is still `Pending` (the DMV refused it, or the loan was not made):
    /// the lien is `Released` and the subject free again. Only the loan's bank.
    function cancelLoan(uint256 loanId, bytes32 evidenceDigest) external;

    // ---------------------------------------------------------------- reports

    /// @notice The loan's bank reports its repayment status; runs the overdue and loan-to-value rules and, with
    /// `daysOverdue` 0, the cure.
    /// @dev Only an account of the loan's bank, on a loan whose lien is `Active`.
    function reportRepayment(uint256 loanId, uint16 daysOverdue, uint128 outstanding, bytes32 evidenceDigest) external;

    /// @notice A price oracle reports the value of a subject: the report becomes its member's observation for the
    /// subject's active loan and, once the fresh observations reach the quorum, their median becomes the loan's
    /// value and runs the value-move and loan-to-value rules. Only a PRICE_ORACLE member's account.
    /// @dev Emits `ValuationReported` for every report, and `ValuationAggregated` when a median is published. A
    /// member beyond the `MAX_VALUATION_REPORTERS` a loan remembers replaces the stalest observation.
    function reportValuation(bytes32 subject, uint128 value, bytes32 evidenceDigest) external;

    /// @notice A telematics oracle reports an alert on a subject (Low: recorded only; Medium: watch; High and
    /// Critical: breach). Only a TELEMATICS_ORACLE member's account.
    /// @param alertKind The provider's alert code (crash, tamper, geofence, ...), recorded as given.
    function reportTelematicsAlert(bytes32 subject, uint16 alertKind, Severity severity, bytes32 evidenceDigest)
        external;

    /// @notice The DMV oracle reports an event on a subject (seizure, transfer attempt, scrapping: breach; lien
    /// released: see `DmvEventKind`). Only a DMV_ORACLE member's account.
    function reportDmvEvent(bytes32 subject, DmvEventKind eventKind, bytes32 evidenceDigest) external;

    /// @notice A risk-score warning on a subject: a score strictly under `riskWatchScore` puts the loan on watch,
    /// never in breach. Only an account holding one of `riskReporterRoles`.
    /// @param score The model's score, 0 (worst) to 10 000 (best).
    function reportRiskWarning(bytes32 subject, uint16 score, bytes32 evidenceDigest) external;

    // ---------------------------------------------------------------- disposal cases

    /// @notice Closes a `Watch` case: back to no case (`None`, for good). Only the loan's bank.
    function clearWatch(uint256 caseId, bytes32 evidenceDigest) external;

    /// @notice Orders repossession of a `Triggered` case once its cure period is over and assigns the disposal
    /// agency, whose first step deadline starts now. Only the loan's bank.
    /// @param agencyMemberId An active DISPOSAL_AGENCY member.
    function orderRepossession(uint256 caseId, uint64 agencyMemberId, bytes32 evidenceDigest) external;

    /// @notice Records the vehicle's repossession (`RepossessionOrdered` -> `Repossessed`). Only the assigned agency.
    function recordRepossession(uint256 caseId, bytes32 evidenceDigest) external;

    /// @notice Records the appraisal (`Repossessed` -> `Appraised`). Only the assigned agency.
    function recordAppraisal(uint256 caseId, uint128 appraisedValue, bytes32 evidenceDigest) external;

    /// @notice Records the auction (`Appraised` -> `Auctioned`). Only the assigned agency.
    function recordAuction(uint256 caseId, uint128 salePrice, bytes32 evidenceDigest) external;

    /// @notice Records the settlement agreed with the bank (`Auctioned` -> `Settled`): the lien is released and the
    /// loan closed, so the subject may carry a new lien. Only the assigned agency; the evidence is the settlement
    /// statement both parties signed off chain.
    function recordSettlement(uint256 caseId, bytes32 evidenceDigest) external;

    /// @notice Records that the current agency step missed its deadline. Anyone, once `now > deadline`, once per
    /// deadline. The case keeps its state.
    function escalate(uint256 caseId) external;

    /// @notice Assigns another (or the same) agency to an escalated case, with a fresh deadline for the current
    /// step. Only the loan's bank.
    function reassignAgency(uint256 caseId, uint64 agencyMemberId, bytes32 evidenceDigest) external;

    /// @notice Freezes a case under dispute (from `Triggered` up to `Auctioned`), remembering its state; its clock
    /// stops until governance resolves the dispute. Only the loan's bank or the assigned agency.
    function freezeCase(uint256 caseId, bytes32 evidenceDigest) external;

    // ---------------------------------------------------------------- views

    /// @notice The governance dependency.
    function membership() external view returns (address);

    /// @notice The current limits and defaults.
    function parameters() external view returns (Parameters memory);

    /// @notice The most distinct price oracle members whose observations a loan remembers, and the highest quorum.
    function MAX_VALUATION_REPORTERS() external view returns (uint8);

    /// @notice The current valuation policy.
    function valuationPolicy() external view returns (ValuationPolicy memory);

    /// @notice The latest aggregated value of the subject's active loan and when it was published.
    /// @dev Reverts with `CollateralNoActiveLoan` when the subject has no `Pending` or `Active` lien, and with
    /// `CollateralStaleValuation` when no median was ever published for the loan (`updatedAt` 0) or when
    /// `now > updatedAt + maxAge`. Consumers should rely on this rather than on `getLoan(..).lastValue`, which
    /// is the baseline until a first median and is never refused as stale.
    function valuationOf(bytes32 subject) external view returns (uint128 value, uint40 updatedAt);

    /// @notice A loan's record (reverts with `CollateralUnknownLoan` for an unknown id).
    function getLoan(uint256 loanId) external view returns (Loan memory);

    /// @notice The loan holding the subject's `Pending` or `Active` lien, or 0.
    function activeLoanOf(bytes32 subject) external view returns (uint256);

    /// @notice The value-move threshold a loan's next valuation will be judged by (its own or the default).
    function valueMoveBpsOf(uint256 loanId) external view returns (uint16);

    /// @notice Number of loans ever registered (ids run from 1 to this number).
    function loanCount() external view returns (uint256);

    /// @notice A case's record (reverts with `CollateralUnknownCase` for an unknown id).
    function getCase(uint256 caseId) external view returns (Case memory);

    /// @notice A case's state (reverts with `CollateralUnknownCase` for an unknown id).
    function state(uint256 caseId) external view returns (CaseState);

    /// @notice Number of cases ever opened (ids run from 1 to this number).
    function caseCount() external view returns (uint256);
}
